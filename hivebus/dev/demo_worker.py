"""What the pattern demos share: their agents' worker process, started as a user would
(`hivebus run agents/<file>`) with its output in a log under the state folder, and a
`read_committed` reader of the topics a demo prints."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

from confluent_kafka import Consumer

from hivebus.kafka.connection import connection_settings

Say = Callable[[str], None]


def worker_log(name: str) -> Path:
    return Path(os.environ.get("HIVEBUS_STATE_DIR") or ".hivebus") / f"{name}-worker.log"


def start_worker(
    agents_dir: Path, file: str, log: Path, say: Say, *, env: dict[str, str] | None = None,
    options: Sequence[str] = (),
) -> subprocess.Popen[bytes]:  # fmt: skip
    log.parent.mkdir(parents=True, exist_ok=True)
    say(f"starting a worker: hivebus run agents/{file}")
    command = [sys.executable, "-m", "hivebus.cli", "run", str(agents_dir / file), *options]
    with log.open("ab") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)


def stop_worker(worker: subprocess.Popen[bytes], log: Path, say: Say) -> None:
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        worker.wait(60)
    say(f"worker stopped; its log: {log}")


def committed_reader(topics: list[str]) -> Consumer:
    """A consumer of `topics` from their start that sees committed records only."""
    consumer = Consumer({
        **connection_settings("consumer"), "group.id": f"demo-{uuid.uuid4().hex[:8]}",
        "isolation.level": "read_committed", "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    })  # fmt: skip
    consumer.subscribe(topics)
    return consumer
