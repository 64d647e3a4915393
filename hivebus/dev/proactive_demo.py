"""`hivebus dev demo proactive`: a metrics stream, a spike, a root-cause report unasked.

The agents of `agents/ops_watch.py` (the detector, the root-cause agent and its tool worker)
run in their own worker process. This process streams latency metrics of three services,
prints a dot per second of stream, injects one spike into `checkout`, and prints the anomaly
and the root-cause report as they come, with the time from the spike to the report.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hivebus.contracts import Serde, registry_client
from hivebus.dev.demo import wait_for_agents
from hivebus.dev.demo_worker import start_worker, stop_worker, worker_log
from hivebus.kafka.admin import TopicSpec, admin_client, ensure_topics
from hivebus.patterns import AnomalyDetected
from hivebus.runtime import Publisher
from hivebus.runtime.loader import import_file
from hivebus.testing.reader import read_events

Say = Callable[[str], None]
SERVICES = ("checkout", "search", "accounts")
AGENTS = ("latency-watch", "root-cause", "root-cause.runs", "ops-tools")


def run(agents_dir: Path, say: Say = print, warm_up: int = 30) -> Any:
    """Run the demo; returns the root-cause report of the injected spike."""
    contracts = import_file((agents_dir / "ops_contracts.py").resolve())
    ensure_topics(admin_client(), [TopicSpec("ops.metrics", 3), TopicSpec("ops.root-causes", 3)])
    serde = Serde(registry_client())
    log = worker_log("proactive")
    worker = start_worker(agents_dir, "ops_watch.py", log, say)
    try:
        wait_for_agents(serde, worker, say, AGENTS)
        say(f"\n== streaming latency of {', '.join(SERVICES)} to ops.metrics "
            f"({warm_up} values each, then a spike in checkout) ==")  # fmt: skip
        spike_id, spiked = asyncio.run(_stream(contracts, warm_up, say))
        anomaly_id = f"latency-watch:{spike_id}"
        report = _wait_report(serde, contracts, anomaly_id)
        took = time.monotonic() - spiked
        anomaly = _anomaly(serde, anomaly_id)
        say(f"\n== anomaly: {anomaly.series} = {anomaly.value:g}, expected {anomaly.expected:.1f}"
            f" ± {anomaly.spread:.1f} (score {anomaly.score:+.0f}) ==")  # fmt: skip
        say(f"== root-cause report, {took:.2f} s after the spike, unasked ==")
        for line in report.evidence:
            say(f"   evidence  {line}")
        say(f"   missing   {', '.join(report.missing) or 'none'}")
        say(f"   summary   ({report.model}) {report.summary}")
        return report
    finally:
        stop_worker(worker, log, say)


async def _stream(contracts: Any, warm_up: int, say: Say) -> tuple[str, float]:
    async with Publisher("demo") as publisher:
        for n in range(warm_up):
            for i, service in enumerate(SERVICES):
                value = 80 + 20 * i + (n * 7 + i) % 9
                await _send(publisher, contracts, service, value)
            await asyncio.sleep(0.05)
        spiked = time.monotonic()
        spike_id = await _send(publisher, contracts, "checkout", 950.0)
        say("   ... checkout latency_ms 950 (normally about 84)")
        return spike_id, spiked


async def _send(publisher: Publisher, contracts: Any, service: str, value: float) -> str:
    metric = contracts.ServiceMetric(service=service, name="latency_ms", value=value,
                                     at=datetime.now(UTC).isoformat())  # fmt: skip
    return await publisher.publish("ops.metrics", metric, key=f"{service}/latency_ms")


def _wait_report(serde: Serde, contracts: Any, anomaly_id: str) -> Any:
    found = asyncio.run(read_events(
        serde, "ops.root-causes", contracts.RootCauseReport, 1, timeout_s=60,
        committed_only=True, until=lambda got: any(r.event.anomaly_id == anomaly_id for r in got),
    ))  # fmt: skip
    mine = [r.event for r in found if r.event.anomaly_id == anomaly_id]
    if not mine:
        raise TimeoutError("no root-cause report within 60 s; see the worker's log")
    return mine[0]


def _anomaly(serde: Serde, anomaly_id: str) -> AnomalyDetected:
    found = asyncio.run(read_events(
        serde, "ops.anomalies", AnomalyDetected, 1, timeout_s=10,
        until=lambda got: any(r.event.id == anomaly_id for r in got),
    ))  # fmt: skip
    return next(r.event for r in found if r.event.id == anomaly_id)
