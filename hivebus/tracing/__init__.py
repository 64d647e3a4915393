"""OpenTelemetry tracing: `Agent(middleware=[Tracing()])` gives each handled event a span,
its steps and LLM calls child spans, and carries the trace from event to event in
`ce_traceparent`. Importing this package also lets `Publisher` stamp the caller's span."""

from hivebus.tracing.middleware import Tracing
from hivebus.tracing.setup import exporting, flush, provider_for
from hivebus.tracing.traceparent import format_traceparent, parse_traceparent, read_parent

__all__ = [
    "Tracing",
    "exporting",
    "flush",
    "format_traceparent",
    "parse_traceparent",
    "provider_for",
    "read_parent",
]
