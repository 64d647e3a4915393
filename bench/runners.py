"""Every system under test, and how to run one on a workload (one subprocess per run)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hivebus.contracts.endpoints import registry_url
from hivebus.kafka.endpoints import bootstrap_servers

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class System:
    name: str
    module: str
    env: str | None  # a peer's virtual environment (bench/.venvs/<env>); None: hivebus's own

    def python(self) -> str:
        if self.env is None:
            return sys.executable
        from bench.peers.venvs import ensure

        return str(ensure(self.env))


RAW_BYTES = System("raw-bytes", "bench.systems", None)
RAW_AVRO = System("raw-avro", "bench.systems", None)
HIVEBUS = System("hivebus", "bench.systems", None)
HIVEBUS_UNORDERED = System("hivebus-unordered", "bench.systems", None)  # ordering="unordered"
HIVEBUS_EOS = System("hivebus-eos", "bench.systems", None)  # guarantee="exactly_once"
HIVEBUS_AUDIT = System("hivebus-audit", "bench.systems", None)  # middleware=[Audit()]
PEERS = [
    System("faststream-aiokafka", "bench.peers.faststream_aiokafka", "faststream-aiokafka"),
    System("faststream-aiokafka-workers", "bench.peers.faststream_aiokafka", "faststream-aiokafka"),
    System("faststream-confluent", "bench.peers.faststream_confluent", "faststream-confluent"),
    System(
        "faststream-confluent-workers", "bench.peers.faststream_confluent", "faststream-confluent"
    ),
    System("faust", "bench.peers.faust_app", "faust"),
    System("quix", "bench.peers.quix_app", "quix"),
]
ALL = [RAW_BYTES, RAW_AVRO, HIVEBUS, *PEERS]


def start(system: System, workload: str, config: dict[str, Any], timeout_s: float) -> Running:
    """Start one system on a workload in the background; `Running.stop()` ends it."""
    full = {
        "system": system.name, "bootstrap": bootstrap_servers(), "registry_url": registry_url(),
        "timeout_s": timeout_s, **config,
    }  # fmt: skip
    return Running(
        system, workload, [system.python(), "-m", system.module, workload, json.dumps(full)]
    )


class Running:
    def __init__(self, system: System, workload: str, command: list[str]) -> None:
        self.system, self.workload = system, workload
        self.process = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self._result: dict[str, Any] | None = None

    def stop(self, grace_s: float = 15.0) -> dict[str, Any]:
        """SIGTERM if still running (the measurement is over), then its result or error."""
        if self._result is not None:
            return self._result
        if self.process.poll() is None:
            self.process.terminate()
        try:
            out, err = self.process.communicate(timeout=grace_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, err = self.process.communicate()
        self._result = _parse(self.system, self.workload, out, err)
        return self._result


def run(system: System, workload: str, config: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    """Run one system on one workload; failures come back as a result with an `error`."""
    full = {
        "system": system.name, "bootstrap": bootstrap_servers(), "registry_url": registry_url(),
        "timeout_s": timeout_s, **config,
    }  # fmt: skip
    try:
        python = system.python()
    except Exception as error:  # a peer that cannot be installed here
        return {"system": system.name, "workload": workload, "error": f"install: {error}"}
    try:
        done = subprocess.run(
            [python, "-m", system.module, workload, json.dumps(full)],
            cwd=ROOT, capture_output=True, text=True, timeout=timeout_s + 90, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return {"system": system.name, "workload": workload, "error": "did not exit"}
    return _parse(system, workload, done.stdout, done.stderr)


def _parse(system: System, workload: str, out: str | None, err: str | None) -> dict[str, Any]:
    lines = (out or "").strip().splitlines()
    try:
        result: dict[str, Any] = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        tail = (err or "").strip().splitlines()[-3:]
        return {"system": system.name, "workload": workload, "error": " | ".join(tail)[:300]}
    return result
