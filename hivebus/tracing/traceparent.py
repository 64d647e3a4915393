"""W3C trace context <-> the `ce_traceparent` / `ce_tracestate` headers of an event.

Pure functions over OpenTelemetry's `SpanContext`: the CloudEvents distributed-tracing
extension carries the W3C `traceparent` and `tracestate` values unchanged, so any W3C-aware
reader of the topic (hivebus or not) follows the same trace.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from opentelemetry.trace import SpanContext, TraceFlags, TraceState

from hivebus.runtime.tracecontext import TraceHeaders

TRACEPARENT = "ce_traceparent"
TRACESTATE = "ce_tracestate"
_PARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$")
RawHeaders = Sequence[tuple[str, str | bytes | None]] | Mapping[str, str | bytes | None]


def format_traceparent(context: SpanContext) -> str:
    """`00-<trace id>-<span id>-<flags>`, the version this library writes."""
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"


def parse_traceparent(value: str, tracestate: str | None = None) -> SpanContext | None:
    """The remote span a `traceparent` names, or None for one that is malformed or invalid
    (then the handling starts a new trace rather than fail the event)."""
    match = _PARENT.match(value.strip().lower())
    if match is None:
        return None
    version, trace_id, span_id, flags, rest = match.groups()
    if version == "ff" or (version == "00" and rest):  # ff is forbidden; 00 has 4 fields
        return None
    trace, span = int(trace_id, 16), int(span_id, 16)
    if not trace or not span:
        return None
    state = TraceState.from_header([tracestate]) if tracestate else TraceState()
    return SpanContext(
        trace, span, is_remote=True, trace_flags=TraceFlags(int(flags, 16) & 0x01),
        trace_state=state,
    )  # fmt: skip


def trace_headers(context: SpanContext) -> TraceHeaders | None:
    """The header pairs an event caused under `context` carries (None for no valid span)."""
    if not context.is_valid:
        return None
    parent = (TRACEPARENT, format_traceparent(context).encode())
    state = context.trace_state.to_header() if context.trace_state else ""
    return (parent, (TRACESTATE, state.encode())) if state else (parent,)


def read_parent(headers: RawHeaders | None) -> SpanContext | None:
    """The remote parent an event's headers name, from `ce_traceparent` (+ `ce_tracestate`)."""
    if not headers:
        return None
    parent = state = None
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    for name, value in pairs:
        if value is None:
            continue
        if name == TRACEPARENT:
            parent = value.decode("ascii", "replace") if isinstance(value, bytes) else value
        elif name == TRACESTATE:
            state = value.decode("ascii", "replace") if isinstance(value, bytes) else value
    return None if parent is None else parse_traceparent(parent, state)
