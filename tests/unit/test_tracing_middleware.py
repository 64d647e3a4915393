"""`Tracing()` in the in-memory harness: the handling's span, its parent from
`ce_traceparent`, step and LLM child spans, outputs and dead letters stamped, errors."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from hivebus import Agent, Audit, Context, Retry, Tracing
from hivebus.runtime.middlewares import NonRetryableError
from hivebus.testing import AgentHarness
from hivebus.tracing import format_traceparent
from tests.integration.runtime_contracts import Ping, Pong

PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    yield InMemorySpanExporter()


def traced_agent(exporter: InMemorySpanExporter, *middleware: object) -> Agent:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return Agent(
        "tracer-test", retry=Retry(attempts=2, backoff_s=0.0),
        middleware=[*middleware, Tracing(provider)],
    )  # fmt: skip


def named(spans: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name == name]


async def test_a_sync_handling_is_a_consumer_span_under_the_inputs_traceparent(
    exporter: InMemorySpanExporter,
) -> None:
    agent = traced_agent(exporter)

    @agent.on("pings", Ping, output="pongs")
    def relay(ping: Ping, ctx: Context) -> Pong:
        return Pong(id=ping.id, key=ping.key, seq=ping.seq, handled_by=ctx.agent)

    async with AgentHarness(agent) as h:
        sent = await h.send(
            "pings", Ping(id="p", key="k", seq=0, payload=""), key="k",
            headers={"ce_id": "e1", "ce_traceparent": PARENT, "ce_tracestate": "v=1"},
        )  # fmt: skip
    [span] = exporter.get_finished_spans()
    assert span.name == "tracer-test process pings" and span.kind is SpanKind.CONSUMER
    assert span.parent is not None and span.parent.span_id == 0x00F067AA0BA902B7
    assert span.context.trace_id == 0x4BF92F3577B34DA6A3CE929D0E0E4736
    assert (span.attributes or {})["messaging.message.id"] == "e1"
    [pong] = sent.published
    assert pong.headers["ce_traceparent"] == format_traceparent(span.context)
    assert pong.headers["ce_tracestate"] == "v=1"  # carried on, as W3C asks


async def test_steps_and_llm_calls_are_child_spans_and_failures_are_errors(
    exporter: InMemorySpanExporter,
) -> None:
    agent = traced_agent(exporter, Audit())  # the audit still hears everything

    def fails() -> None:
        raise ValueError("no")

    @agent.on("pings", Ping, output="pongs")
    async def handle(ping: Ping, ctx: Context) -> Pong:
        async def outer() -> str:
            return await ctx.step("inner", lambda: "x")

        await ctx.step("outer", outer)
        reply = await ctx.step("ask", ctx.llm.complete, "hello")
        with contextlib.suppress(ValueError):
            await ctx.step("broken", fails)
        return Pong(id=ping.id, key=ping.key, seq=ping.seq, handled_by=reply.model)

    async with AgentHarness(agent) as h:
        sent = await h.send("pings", Ping(id="p", key="k", seq=0, payload=""), key="k")
    spans = exporter.get_finished_spans()
    [process] = named(spans, "tracer-test process pings")
    [outer], [inner] = (
        named(spans, "tracer-test step outer"),
        named(spans, "tracer-test step inner"),
    )
    [ask], [broken] = named(spans, "tracer-test step ask"), named(spans, "tracer-test step broken")
    [chat] = [s for s in spans if s.kind is SpanKind.CLIENT]
    assert process.parent is None  # no traceparent on the input: a new trace
    assert outer.parent.span_id == process.context.span_id  # type: ignore[union-attr]
    assert inner.parent.span_id == outer.context.span_id  # type: ignore[union-attr]
    assert chat.parent.span_id == ask.context.span_id  # type: ignore[union-attr]
    assert (chat.attributes or {})["gen_ai.usage.output_tokens"] > 0  # type: ignore[operator]
    assert broken.status.status_code is StatusCode.ERROR
    assert process.status.status_code is not StatusCode.ERROR
    assert sent.published[0].headers["ce_traceparent"] == format_traceparent(process.context)
    assert {s.context.trace_id for s in spans} == {process.context.trace_id}


async def test_a_dead_lettered_handling_is_an_error_and_its_letter_names_the_span(
    exporter: InMemorySpanExporter,
) -> None:
    agent = traced_agent(exporter)

    @agent.on("pings", Ping, output="pongs")
    async def handle(ping: Ping, ctx: Context) -> Pong:
        raise NonRetryableError("refused")

    async with AgentHarness(agent) as h:
        sent = await h.send("pings", Ping(id="p", key="k", seq=0, payload=""), key="k")
    [span] = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "NonRetryableError: refused"
    assert sent.dead_letter is not None
    assert sent.dead_letter.headers["hivebus_error_traceparent"] == format_traceparent(span.context)
