"""OpenTelemetry on the real broker and registry: one trace from a test's own span through
fraud and compliance (their handlings, steps and LLM call), carried in `ce_traceparent`;
and a dead letter that carries the span that failed."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from hivebus import Agent, Context, Publisher, Tracing
from hivebus.contracts import Serde, registry_client
from hivebus.dev import Endpoints
from hivebus.kafka.connection import connection_settings
from hivebus.runtime.loader import import_file, load_agents
from hivebus.runtime.middlewares import NonRetryableError
from hivebus.testing.reader import read_events
from hivebus.testing.stack import unique_name
from hivebus.testing.worker import running
from hivebus.tracing import format_traceparent
from tests.integration.runtime_contracts import Ping, Pong
from tests.integration.runtime_support import pings, publish, topics

AGENTS = Path(__file__).parents[2] / "agents"
EXPORTER = InMemorySpanExporter()


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    """An in-process exporter on the global provider (set once: OpenTelemetry allows one)."""
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    if not getattr(provider, "_hivebus_test_exporter", False):
        provider.add_span_processor(SimpleSpanProcessor(EXPORTER))
        provider._hivebus_test_exporter = True  # type: ignore[attr-defined]
    EXPORTER.clear()
    yield EXPORTER
    EXPORTER.clear()


@pytest.fixture
def audit_topic() -> Iterator[str]:
    """The seed agents are audited too: into a topic of this test's own."""
    topic, saved = unique_name("audit"), os.environ.get("HIVEBUS_AUDIT_TOPIC")
    os.environ["HIVEBUS_AUDIT_TOPIC"] = topic
    try:
        yield topic
    finally:
        if saved is None:
            os.environ.pop("HIVEBUS_AUDIT_TOPIC", None)
        else:
            os.environ["HIVEBUS_AUDIT_TOPIC"] = saved


async def finished(
    exporter: InMemorySpanExporter, trace_id: int, names: set[str], timeout_s: float = 60
) -> list[ReadableSpan]:
    """The finished spans of `trace_id`, once every name in `names` is among them ("chat"
    for an LLM call's span)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        found = [s for s in exporter.get_finished_spans() if s.context.trace_id == trace_id]
        seen = {"chat" if s.name.startswith("chat ") else s.name for s in found}
        if names <= seen:  # (an LLM span is named after the model asked for)
            return found
        assert asyncio.get_running_loop().time() < deadline, sorted(s.name for s in found)
        await asyncio.sleep(0.1)


def parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


async def test_one_trace_runs_from_the_first_event_to_the_last_decision(
    stack: Endpoints, audit_topic: str, spans: InMemorySpanExporter
) -> None:
    [fraud] = load_agents(str(AGENTS / "fraud.py"))
    [compliance] = load_agents(str(AGENTS / "compliance.py"))
    contracts = import_file((AGENTS / "contracts.py").resolve())
    account = unique_name("acct")
    risky = contracts.Transaction(
        id=unique_name("tx"), account=account, amount=2500.0, currency="EUR", channel="card",
        country="IR", merchant="Casino Royal",
    )  # fmt: skip
    tracer = trace.get_tracer("tests")
    async with Publisher("bank-tests") as publisher:
        with tracer.start_as_current_span("checkout") as root:  # the user's own first span
            risky_id = await publisher.publish("transactions.card", risky, key=account)
    trace_id, root_id = root.get_span_context().trace_id, root.get_span_context().span_id
    names = {
        "fraud-detector process transactions.card", "fraud-detector step score",
        "compliance-officer process transactions.flagged", "compliance-officer step rationale",
        "chat",
    }  # fmt: skip
    async with running([fraud, compliance]):
        found = await finished(spans, trace_id, names | {"checkout"})
        serde = Serde(registry_client())
        decisions = await read_events(
            serde, "compliance.decisions", contracts.ComplianceDecision, 1,
            until=lambda got: any(r.event.tx_id == risky.id for r in got),
        )  # fmt: skip

    by_name = {"chat" if s.name.startswith("chat ") else s.name: s for s in found}
    assert {s.context.trace_id for s in found} == {trace_id}  # one trace, every hop
    fraud_span = by_name["fraud-detector process transactions.card"]
    score = by_name["fraud-detector step score"]
    compliance_span = by_name["compliance-officer process transactions.flagged"]
    rationale = by_name["compliance-officer step rationale"]
    chat = by_name["chat"]

    # The parent links: test -> fraud -> its step; fraud -> compliance (through the flagged
    # event's ce_traceparent) -> its step -> the LLM call.
    assert parent_of(fraud_span) == root_id and fraud_span.parent.is_remote  # type: ignore[union-attr]
    assert parent_of(score) == fraud_span.context.span_id
    assert parent_of(compliance_span) == fraud_span.context.span_id
    assert compliance_span.parent.is_remote  # type: ignore[union-attr]
    assert parent_of(rationale) == compliance_span.context.span_id
    assert parent_of(chat) == rationale.context.span_id
    assert [s.name for s in found if s.name in names or s is chat] == [  # children end first
        "fraud-detector step score", "fraud-detector process transactions.card",
        chat.name, "compliance-officer step rationale",
        "compliance-officer process transactions.flagged",
    ]  # fmt: skip

    # Kinds and attributes: messaging conventions on the handlings, GenAI on the call.
    assert (fraud_span.kind, compliance_span.kind, chat.kind) == (
        SpanKind.CONSUMER, SpanKind.CONSUMER, SpanKind.CLIENT,
    )  # fmt: skip
    attributes = dict(fraud_span.attributes or {})
    assert attributes["messaging.system"] == "kafka"
    assert attributes["messaging.destination.name"] == "transactions.card"
    assert attributes["messaging.message.id"] == risky_id
    assert attributes["messaging.consumer.group.name"] == "fraud-detector"
    assert attributes["hivebus.correlation_id"] == risky_id
    assert isinstance(attributes["messaging.kafka.offset"], int)
    assert isinstance(attributes["messaging.destination.partition.id"], str)
    flagged = dict(compliance_span.attributes or {})
    assert flagged["hivebus.correlation_id"] == risky_id  # the same piece of work
    assert (score.attributes or {})["hivebus.step.name"] == "score"
    chat_attributes = dict(chat.attributes or {})
    assert chat.name == f"chat {chat_attributes['gen_ai.request.model']}"
    assert chat_attributes["gen_ai.response.model"] == "offline"
    assert int(chat_attributes["gen_ai.usage.input_tokens"]) > 0  # type: ignore[arg-type]
    assert int(chat_attributes["gen_ai.usage.output_tokens"]) > 0  # type: ignore[arg-type]
    assert all(s.status.status_code is not StatusCode.ERROR for s in found)

    # The last decision on the wire names compliance's span as its parent.
    [decision] = [r for r in decisions if r.event.tx_id == risky.id]
    assert decision.meta is not None
    assert decision.meta.traceparent == format_traceparent(compliance_span.context)


def dead_letters(topic: str) -> list[dict[str, bytes]]:
    """The headers of every record on a dead-letter topic."""
    consumer = Consumer({
        **connection_settings("consumer"), "group.id": unique_name("tracing-dlq"),
        "auto.offset.reset": "earliest", "enable.auto.commit": False,
    })  # fmt: skip
    consumer.subscribe([topic])
    found: list[dict[str, bytes]] = []
    try:
        for _ in range(100):
            for message in consumer.consume(100, timeout=0.2):
                if message.error() is None:
                    found.append(dict(message.headers() or []))
            if found:
                break
    finally:
        consumer.close()
    return found


async def test_a_dead_letter_carries_the_span_that_failed(
    stack: Endpoints, admin: object, spans: InMemorySpanExporter
) -> None:
    source, output = topics(admin, "tracing-dlq")  # type: ignore[arg-type]
    name = unique_name("tracing-dlq")
    agent = Agent(name, middleware=[Tracing()])

    @agent.on(source, Ping, output=output)
    async def handle(ping: Ping, ctx: Context) -> Pong:
        raise NonRetryableError("refused")

    async with running([agent]):
        [ping_id] = await publish(source, pings(1))
        deadline = asyncio.get_running_loop().time() + 30
        while not (failed := [
            s for s in spans.get_finished_spans()
            if (s.attributes or {}).get("messaging.message.id") == ping_id
        ]):  # fmt: skip
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.1)
    [span] = failed
    assert span.parent is None  # the test published outside any span: a new trace
    assert span.status.status_code is StatusCode.ERROR
    assert "NonRetryableError: refused" in (span.status.description or "")
    assert (span.attributes or {})["hivebus.dead_letter.topic"] == f"hivebus.dlq.{name}"
    [headers] = await asyncio.to_thread(dead_letters, f"hivebus.dlq.{name}")
    assert headers["hivebus_error_traceparent"] == format_traceparent(span.context).encode()
    assert "ce_traceparent" not in headers  # the original record's headers, untouched
