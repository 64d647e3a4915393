"""`hivebus dev demo blackboard`: an incident board worked out by agents that never call
one another.

The agents of `agents/incident_board.py` run in their own worker process. This process
reports two incidents, prints each board's versions as the keeper writes them to the
compacted state topic (who posted what, on which version), and each root cause.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer

from hivebus.contracts import Serde, registry_client
from hivebus.dev.demo import wait_for_agents
from hivebus.dev.demo_worker import committed_reader, start_worker, stop_worker, worker_log
from hivebus.kafka.admin import TopicSpec, admin_client, ensure_topics
from hivebus.patterns import BoardState
from hivebus.runtime import Publisher
from hivebus.runtime.loader import import_file

Say = Callable[[str], None]
INCIDENTS = (("checkout", "5xx rate at 12%"), ("search", "p99 latency 4 s"))


def run(agents_dir: Path, say: Say = print) -> dict[str, Any]:
    """Run the demo; returns the root cause of each incident by its id."""
    module = import_file((agents_dir / "incident_board.py").resolve())
    contracts = import_file((agents_dir / "incident_contracts.py").resolve())
    setup = module.incidents
    ensure_topics(admin_client(), [*setup.board.topic_specs(), TopicSpec(setup.reported, 6),
                                   TopicSpec(setup.resolved, 6)])  # fmt: skip
    serde = Serde(registry_client())
    log = worker_log("blackboard")
    worker = start_worker(agents_dir, "incident_board.py", log, say)
    reader = committed_reader([setup.board.topics.state, setup.resolved])
    try:
        wait_for_agents(serde, worker, say, tuple(a.name for a in setup.agents))
        stamp = time.strftime("%H%M%S")
        ids = {f"inc-{stamp}-{n}": (service, summary)
               for n, (service, summary) in enumerate(INCIDENTS)}  # fmt: skip
        asyncio.run(_report(setup.reported, contracts, ids))
        say(f"\n== reported {len(ids)} incidents; the board shows each version ==")
        return _follow(reader, serde, contracts, setup, set(ids), say)
    finally:
        reader.close()
        stop_worker(worker, log, say)


async def _report(topic: str, contracts: Any, ids: dict[str, tuple[str, str]]) -> None:
    async with Publisher("demo") as publisher:
        for incident_id, (service, summary) in ids.items():
            incident = contracts.Incident(id=incident_id, service=service, summary=summary)
            await publisher.publish(topic, incident, key=incident_id)


def _follow(
    reader: Consumer, serde: Serde, contracts: Any, setup: Any, ids: set[str], say: Say
) -> dict[str, Any]:
    causes: dict[str, Any] = {}
    shown: dict[str, int] = {}  # the last version of each board printed

    def finished() -> bool:  # each closed, and its board shown up to the closing version
        return len(causes) == len(ids) and all(
            shown.get(i, 0) >= cause.board_version for i, cause in causes.items()
        )

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not finished():
        message = reader.poll(0.2)
        value = message.value() if message is not None and message.error() is None else None
        if message is None or not value:
            continue
        if message.topic() == setup.resolved:
            cause = serde.decode(value, contracts.RootCause)
            if cause.incident_id in ids:
                causes[cause.incident_id] = cause
                by = f"{cause.confidence:.2f}, by {cause.closed_by}, v{cause.board_version}"
                say(f"   {cause.incident_id} ROOT CAUSE ({by}): {cause.root_cause[:80]}")
            continue
        state = serde.decode(value, BoardState)
        if state.board_id in ids and state.entries:
            shown[state.board_id] = max(shown.get(state.board_id, 0), state.version)
            last = state.entries[-1]
            say(f"   {state.board_id} v{state.version:<2} {last.author:<20} {last.kind:<10} "
                f"{last.content[:60]}")  # fmt: skip
    if not finished():  # (the two topics are read side by side: a cause may come first)
        raise TimeoutError("the boards did not close within 120 s; see the worker's log")
    return causes
