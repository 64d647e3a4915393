"""W3C trace context in `ce_traceparent` / `ce_tracestate`: format, parse, read, stamp."""

from __future__ import annotations

from opentelemetry.trace import INVALID_SPAN_CONTEXT, SpanContext, TraceFlags, TraceState

from hivebus.tracing import format_traceparent, parse_traceparent, read_parent
from hivebus.tracing.traceparent import trace_headers

TRACE_ID = 0x4BF92F3577B34DA6A3CE929D0E0E4736
SPAN_ID = 0x00F067AA0BA902B7
SAMPLE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"  # the W3C spec's example


def context(flags: int = 1, state: TraceState | None = None) -> SpanContext:
    return SpanContext(TRACE_ID, SPAN_ID, False, TraceFlags(flags), state or TraceState())


def test_a_span_context_formats_as_the_w3c_example() -> None:
    assert format_traceparent(context()) == SAMPLE
    assert format_traceparent(context(flags=0)).endswith("-00")


def test_a_traceparent_parses_back_to_a_remote_span_context() -> None:
    parsed = parse_traceparent(SAMPLE)
    assert parsed is not None and parsed.is_remote and parsed.is_valid
    assert (parsed.trace_id, parsed.span_id, parsed.trace_flags.sampled) == (
        TRACE_ID, SPAN_ID, True,
    )  # fmt: skip
    assert parse_traceparent(format_traceparent(context(flags=0))).trace_flags.sampled is False  # type: ignore[union-attr]
    assert parse_traceparent(SAMPLE.upper()) is not None  # tolerant of case and whitespace
    assert parse_traceparent(f" {SAMPLE} ") is not None


def test_a_later_version_may_carry_more_fields_but_version_00_may_not() -> None:
    assert parse_traceparent(SAMPLE.replace("00-", "01-", 1) + "-extra") is not None
    assert parse_traceparent(SAMPLE + "-extra") is None


def test_malformed_or_invalid_traceparents_start_a_new_trace() -> None:
    for bad in (
        "", "garbage", SAMPLE[:-1], SAMPLE.replace("00-", "ff-", 1),
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # all-zero trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  # all-zero span id
        "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",  # not hex
    ):  # fmt: skip
        assert parse_traceparent(bad) is None, bad


def test_tracestate_travels_with_the_traceparent() -> None:
    parsed = parse_traceparent(SAMPLE, "vendor=abc,other=1")
    assert parsed is not None and parsed.trace_state.to_header() == "vendor=abc,other=1"
    headers = trace_headers(context(state=TraceState([("vendor", "abc")])))
    assert headers == (("ce_traceparent", SAMPLE.encode()), ("ce_tracestate", b"vendor=abc"))


def test_trace_headers_name_only_a_valid_span() -> None:
    assert trace_headers(context()) == (("ce_traceparent", SAMPLE.encode()),)
    assert trace_headers(INVALID_SPAN_CONTEXT) is None


def test_the_parent_is_read_from_kafka_headers_as_confluent_kafka_hands_them() -> None:
    as_list = [("ce_id", b"e1"), ("ce_traceparent", SAMPLE.encode()), ("x", None)]
    as_dict = {"ce_traceparent": SAMPLE, "ce_tracestate": "k=v"}
    from_list, from_dict = read_parent(as_list), read_parent(as_dict)
    assert from_list is not None and from_list.span_id == SPAN_ID
    assert from_dict is not None and from_dict.trace_state.to_header() == "k=v"
    assert read_parent(None) is None and read_parent([("ce_id", b"e1")]) is None
    assert read_parent([("ce_traceparent", b"nonsense")]) is None
