"""The runtime's side of tracing: outputs and dead letters stamped from `TRACE` only when
the outbox is traced, and `Publisher` stamping the caller's span."""

from __future__ import annotations

import logging
from typing import Any

from opentelemetry.sdk.trace import TracerProvider

from hivebus.contracts import HeaderBuilder
from hivebus.runtime import metrics
from hivebus.runtime.assignment import Assignment
from hivebus.runtime.deadletter import Failure, dead_letter_headers, traced
from hivebus.runtime.job import Job, JobState
from hivebus.runtime.outbox import Outbox
from hivebus.runtime.publisher import Publisher
from hivebus.runtime.tracecontext import TRACE
from hivebus.tracing.traceparent import format_traceparent
from tests.integration.runtime_contracts import Ping

STAMP = (("ce_traceparent", b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),)


class _Message:
    def topic(self) -> str:
        return "in"

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return 7

    def key(self) -> bytes:
        return b"k"

    def value(self) -> bytes:
        return b"v"

    def headers(self) -> list[tuple[str, bytes]]:
        return [("ce_id", b"cause")]


class _Producer:
    def __init__(self) -> None:
        self.sent: list[list[tuple[str, bytes]]] = []

    def produce(self, topic: str, value: bytes, **options: Any) -> None:
        self.sent.append(options["headers"])


class _Encoder:
    def encode(self, record: object) -> bytes:
        return b"encoded"


def outbox_and_job() -> tuple[Outbox, _Producer, Job]:
    producer = _Producer()
    log = logging.getLogger("test")
    outbox = Outbox("a", serde=None, producer=producer, stats=metrics.AgentStats("a"), log=log)  # type: ignore[arg-type]
    outbox._encoders[("out", Ping, False)] = _Encoder()  # type: ignore[assignment]
    job = Job(_Message(), Assignment(("in", 0), None))  # type: ignore[arg-type]
    job.state = JobState.RUNNING
    return outbox, producer, job


def names(headers: list[tuple[str, bytes]]) -> list[str]:
    return [name for name, _ in headers]


def test_an_untraced_outbox_never_reads_the_trace() -> None:
    outbox, producer, job = outbox_and_job()
    token = TRACE.set(STAMP)
    try:
        outbox.emit_cached(job, "out", Ping(id="p", key="k", seq=0), b"k")
    finally:
        TRACE.reset(token)
    assert "ce_traceparent" not in names(producer.sent[0])


def test_a_traced_outbox_stamps_the_current_span_on_each_output() -> None:
    outbox, producer, job = outbox_and_job()
    outbox.traced = True
    outbox.emit_cached(job, "out", Ping(id="p", key="k", seq=0), b"k")  # no span current
    token = TRACE.set(STAMP)
    try:
        outbox.emit_cached(job, "out", Ping(id="p", key="k", seq=1), b"k")
    finally:
        TRACE.reset(token)
    first, second = producer.sent
    assert "ce_traceparent" not in names(first)
    assert second[-1] == STAMP[0] and ("ce_causationid", b"cause") in second


def test_a_dead_letter_keeps_the_original_headers_and_adds_the_failed_span() -> None:
    failure = Failure("handler", "ValueError", "no", 1)
    assert traced(failure) is failure  # no span current: nothing changes
    token = TRACE.set(STAMP)
    try:
        stamped = traced(failure)
    finally:
        TRACE.reset(token)
    headers = dead_letter_headers(_Message(), "a", stamped)  # type: ignore[arg-type]
    assert headers[0] == ("ce_id", b"cause")
    assert ("hivebus_error_traceparent", STAMP[0][1]) in headers
    assert "ce_traceparent" not in names(headers)


def test_the_publisher_stamps_the_callers_span_once_tracing_is_imported() -> None:
    import hivebus.tracing  # noqa: F401  (installs the reader of the current span)

    publisher = Publisher("tests")
    publisher._serde = object()  # type: ignore[assignment]
    publisher._encoders[("t", Ping, False)] = _Encoder()  # type: ignore[assignment]
    ping = Ping(id="p", key="k", seq=0)
    _, outside, _ = publisher._frame("t", ping, None, None, False)
    assert "ce_traceparent" not in names(outside)
    tracer = TracerProvider().get_tracer("tests")
    with tracer.start_as_current_span("checkout") as span:
        _, inside, _ = publisher._frame("t", ping, None, None, False)
    assert dict(inside)["ce_traceparent"] == format_traceparent(span.get_span_context()).encode()


def test_header_builder_still_takes_an_explicit_traceparent() -> None:
    headers, _ = HeaderBuilder("s").build("T", traceparent="00-x")
    assert ("ce_traceparent", b"00-x") in headers
