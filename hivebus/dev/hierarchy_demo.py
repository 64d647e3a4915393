"""`hivebus dev demo hierarchy`: an editor spawns section writers, who spawn researchers.

The agents of `agents/report_team.py` run in their own worker process. This process asks
for a three-section report, waits for it, and prints the tree of child runs it took (read
back from the team's `writers.spawned` topic: each child's run id is its task's event id)
and the report itself.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hivebus.contracts import Serde, registry_client
from hivebus.dev.demo import wait_for_agents
from hivebus.dev.demo_worker import start_worker, stop_worker, worker_log
from hivebus.kafka.admin import TopicSpec, admin_client, ensure_topics
from hivebus.patterns import ChildTask
from hivebus.runtime import Publisher
from hivebus.runtime.loader import import_file
from hivebus.testing.reader import Received, read_events

Say = Callable[[str], None]
AGENTS = ("report-editor", "report-editor.runs", "writers.child", "writers.child.runs")


def run(agents_dir: Path, say: Say = print) -> Any:
    """Run the demo; returns the written report."""
    contracts = import_file((agents_dir / "report_contracts.py").resolve())
    ensure_topics(admin_client(), [TopicSpec("reports.requested", 3),
                                   TopicSpec("reports.written", 3)])  # fmt: skip
    serde = Serde(registry_client())
    log = worker_log("hierarchy")
    worker = start_worker(agents_dir, "report_team.py", log, say)
    try:
        wait_for_agents(serde, worker, say, AGENTS)
        request = contracts.ReportRequest(
            id=f"report-{time.strftime('%H%M%S')}", subject="heat pumps in Germany",
            sections=["Market", "Players", "Risks"], requested_by="demo",
        )  # fmt: skip
        begun = time.monotonic()
        run_id = asyncio.run(_publish(request))
        say(
            f"\n== asked for {request.id}: {len(request.sections)} sections; editor run {run_id} =="
        )
        report = _report(serde, contracts, request.id)
        took = time.monotonic() - begun
        say(f"== written in {took:.1f} s by {report.children} child runs of one pooled agent ==")
        _tree(serde, run_id, say)
        say("")
        for line in report.body.splitlines():
            say(f"   {line[:110]}")
        return report
    finally:
        stop_worker(worker, log, say)


async def _publish(request: Any) -> str:
    async with Publisher("demo") as publisher:
        return await publisher.publish("reports.requested", request, key=request.id)


def _report(serde: Serde, contracts: Any, request_id: str) -> Any:
    found = asyncio.run(read_events(
        serde, "reports.written", contracts.Report, 1, timeout_s=120, committed_only=True,
        until=lambda got: any(r.event.request_id == request_id for r in got),
    ))  # fmt: skip
    mine = [r.event for r in found if r.event.request_id == request_id]
    if not mine:
        raise TimeoutError("no report within 120 s; see the worker's log")
    return mine[0]


def _tree(serde: Serde, root: str, say: Say) -> None:
    spawned: list[Received[ChildTask]] = asyncio.run(
        read_events(serde, "writers.spawned", ChildTask, 1_000_000, timeout_s=3)
    )
    below: dict[str, list[Received[ChildTask]]] = {}
    for received in spawned:
        below.setdefault(received.event.parent_run, []).append(received)

    def show(parent: str, indent: int) -> None:
        for child in sorted(below.get(parent, []), key=lambda r: r.event.index):
            task, run_id = child.event, child.meta.id if child.meta else "?"
            say(f"   {'   ' * indent}depth {task.depth} {task.role:<15} {task.input[:60]}")
            show(run_id, indent + 1)

    say("   editor")
    show(root, 1)
