"""OTLP export to a real OpenTelemetry Collector: the seed's fraud and compliance agents in a
worker process (`hivebus run`), exporting because OTEL_EXPORTER_OTLP_ENDPOINT says so, and
the collector's own receiver seeing one trace across both, each agent its own service."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from hivebus import Publisher
from hivebus.dev import Endpoints
from hivebus.runtime.loader import import_file
from hivebus.testing.stack import unique_name
from tests.integration.otelcol_support import Collector, ReceivedSpan

AGENTS = Path(__file__).parents[2] / "agents"
FRAUD, COMPLIANCE = (
    "fraud-detector process transactions.card",
    ("compliance-officer process transactions.flagged"),
)


async def test_spans_reach_a_real_collector_over_otlp_as_one_trace(
    stack: Endpoints, tmp_path: Path
) -> None:
    contracts = import_file((AGENTS / "contracts.py").resolve())
    account = unique_name("acct")
    risky = contracts.Transaction(
        id=unique_name("tx"), account=account, amount=2500.0, currency="EUR", channel="card",
        country="IR", merchant="Casino Royal",
    )  # fmt: skip
    with Collector(tmp_path) as collector:
        env = {
            **os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": collector.endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "200", "HIVEBUS_AUDIT_TOPIC": unique_name("audit"),
        }  # fmt: skip
        env.pop("OTEL_SERVICE_NAME", None)
        worker = _worker(env, tmp_path / "worker.log")
        try:
            async with Publisher("bank-tests") as publisher:
                risky_id = await publisher.publish("transactions.card", risky, key=account)
            trace = await _trace_of(collector, risky_id)
        finally:
            await asyncio.to_thread(_stop, worker)

    by_name = {"chat" if s.name.startswith("chat ") else s.name: s for s in trace}
    fraud, compliance = by_name[FRAUD], by_name[COMPLIANCE]
    score = by_name["fraud-detector step score"]
    rationale, chat = by_name["compliance-officer step rationale"], by_name["chat"]
    # Each agent is its own service; the parent links cross the Kafka hop.
    assert {(s.name, s.service) for s in (fraud, score)} == {
        (FRAUD, "fraud-detector"), ("fraud-detector step score", "fraud-detector")
    }  # fmt: skip
    assert {s.service for s in (compliance, rationale, chat)} == {"compliance-officer"}
    assert fraud.parent_id == "" and fraud.kind == "Consumer"  # the first hop: a root
    assert score.parent_id == fraud.span_id
    assert compliance.parent_id == fraud.span_id and compliance.kind == "Consumer"
    assert rationale.parent_id == compliance.span_id
    assert chat.parent_id == rationale.span_id and chat.kind == "Client"
    assert compliance.attributes["hivebus.correlation_id"] == risky_id
    assert chat.attributes["gen_ai.response.model"] == "offline"


async def _trace_of(
    collector: Collector, event_id: str, timeout_s: float = 90
) -> list[ReceivedSpan]:
    """The spans of the trace whose fraud span handled `event_id`, once compliance's LLM
    call is among them."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        spans = collector.spans()
        roots = [
            s for s in spans
            if s.name == FRAUD and s.attributes.get("messaging.message.id") == event_id
        ]  # fmt: skip
        if roots:
            trace = [s for s in spans if s.trace_id == roots[0].trace_id]
            if any(s.name.startswith("chat ") for s in trace) and any(
                s.name == COMPLIANCE for s in trace
            ):
                return trace
        assert asyncio.get_running_loop().time() < deadline, (
            sorted({s.name for s in spans}),
            (collector.folder / "worker.log").read_text()[-3000:],
        )
        await asyncio.sleep(0.5)


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`hivebus run` with the seed's fraud and compliance agents; its output in `log`."""
    command = [sys.executable, "-m", "hivebus.cli", "run", str(AGENTS / "fraud.py"),
               str(AGENTS / "compliance.py"), "--grace=2"]  # fmt: skip
    with log.open("wb") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)


def _stop(worker: subprocess.Popen[bytes]) -> None:
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(timeout=60)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()
        raise
