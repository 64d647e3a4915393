"""The trace context of the span current here, as the headers every output carries.

Tracing (`hivebus.tracing`) sets `TRACE` to the `ce_traceparent` (and `ce_tracestate`)
header pairs of the span it makes current while a handler runs, and tells the outbox it is
`traced`; the outbox then copies them into each output. With tracing off the outbox only
reads that flag, and nothing here imports OpenTelemetry. Code that publishes outside a
handler (`Publisher`) asks `current()`, which answers only once tracing installed its reader.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

TraceHeaders = tuple[tuple[str, bytes], ...]

TRACE: ContextVar[TraceHeaders | None] = ContextVar("hivebus_trace", default=None)
# Reads the current OpenTelemetry span's headers; installed by `hivebus.tracing`.
_reader: Callable[[], TraceHeaders | None] | None = None


def install(reader: Callable[[], TraceHeaders | None]) -> None:
    """Let `current()` read the trace context of the current span (tracing does, once)."""
    global _reader
    _reader = reader


def current() -> TraceHeaders | None:
    """The trace headers of what is published from here: a handler's span, else the
    caller's own current span when tracing is in use, else None."""
    trace = TRACE.get()
    if trace is None and _reader is not None:
        trace = _reader()
    return trace
