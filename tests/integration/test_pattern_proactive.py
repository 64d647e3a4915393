"""Proactive agents on the real broker and registry: the ops reference's detector sees a
latency spike in a metrics stream, and the root-cause agent reports on it unasked, with
its tools' evidence and an LLM summary, within a bound."""

from __future__ import annotations

import time
from pathlib import Path

from confluent_kafka.schema_registry import SchemaRegistryClient

from hivebus import Publisher
from hivebus.contracts import Serde
from hivebus.dev import Endpoints
from hivebus.kafka.admin import TopicSpec, admin_client, ensure_topics
from hivebus.patterns import AnomalyDetected
from hivebus.runtime.loader import import_file, load_agents
from hivebus.testing.reader import read_events
from hivebus.testing.worker import running

AGENTS = Path(__file__).parents[2] / "agents"


async def test_a_spike_becomes_a_root_cause_report_before_anyone_asks(
    stack: Endpoints, registry: SchemaRegistryClient
) -> None:
    ensure_topics(admin_client(), [TopicSpec("ops.metrics", 3), TopicSpec("ops.root-causes", 3)])
    agents = load_agents(str(AGENTS / "ops_watch.py"))
    contracts = import_file(AGENTS / "ops_contracts.py")
    metric, report_type = contracts.ServiceMetric, contracts.RootCauseReport
    serde = Serde(registry)
    # Two services, 40 ordinary values each (a small deterministic wobble), then checkout's
    # latency jumps once and goes back to normal.
    normal = [100 + (n * 7) % 11 for n in range(40)]
    async with running(agents):
        async with Publisher("tests") as publisher:

            async def send(service: str, value: float, second: int) -> str:
                at = f"2026-12-02T10:{second // 60:02d}:{second % 60:02d}Z"
                event = metric(service=service, name="latency_ms", value=value, at=at)
                return await publisher.publish("ops.metrics", event, key=f"{service}/latency_ms")

            ids: dict[str, list[str]] = {"checkout": [], "search": []}
            for n, value in enumerate(normal):
                ids["checkout"].append(await send("checkout", value, n))
                ids["search"].append(await send("search", value + 40, n))
            spiked = time.monotonic()
            spike_id = await send("checkout", 950.0, 41)
            for n in range(5):
                ids["checkout"].append(await send("checkout", normal[n], 42 + n))
        anomaly_id = f"latency-watch:{spike_id}"
        reports = await read_events(
            serde, "ops.root-causes", report_type, 1, timeout_s=60, committed_only=True,
            until=lambda got: any(r.event.anomaly_id == anomaly_id for r in got),
        )  # fmt: skip
        took = time.monotonic() - spiked
        ours = {f"latency-watch:{i}" for i in [spike_id, *ids["checkout"], *ids["search"]]}
        anomalies = await read_events(serde, "ops.anomalies", AnomalyDetected, 10_000, timeout_s=5)
    fired = [r.event for r in anomalies if r.event.id in ours]
    assert [a.id for a in fired] == [anomaly_id], "one anomaly: the spike, nothing else"
    assert fired[0].series == "checkout/latency_ms" and fired[0].score > 4
    assert fired[0].window == 40 and 100 <= fired[0].expected <= 111
    report = next(r.event for r in reports if r.event.anomaly_id == anomaly_id)
    assert any("deployed 4 min ago" in line for line in report.evidence)
    assert any("pool exhausted" in line for line in report.evidence)
    assert report.missing == [] and report.summary and report.model
    assert took < 30, f"the report took {took:.1f} s after the spike"
