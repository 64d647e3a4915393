"""Where spans go: an OTLP/HTTP exporter when the environment names an endpoint, else the
global tracer provider (the user's own, or OpenTelemetry's no-op default).

`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` turns export on (the
exporter reads the rest: headers, timeout, compression). Each agent is then its own service
(`service.name` = the agent's name, unless `OTEL_SERVICE_NAME` names one for all), with a
batch processor, so exporting never waits on the handler's path. A provider the user set
globally wins over the environment: hivebus adds to a setup, never replaces it.
"""

from __future__ import annotations

import os

from opentelemetry import trace

ENDPOINTS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
FLUSH_MS = 5_000
_CONFIGURED: dict[str, trace.TracerProvider] = {}  # service name -> the provider made for it


def exporting() -> bool:
    """True when the environment asks for OTLP export."""
    return any(os.environ.get(name) for name in ENDPOINTS)


def provider_for(agent: str) -> trace.TracerProvider:
    """The tracer provider `agent`'s spans go to. The first one made for export also
    becomes the global provider, so spans a handler makes itself are exported too."""
    configured = trace.get_tracer_provider()
    ours = configured in _CONFIGURED.values()
    if not exporting() or not (ours or isinstance(configured, trace.ProxyTracerProvider)):
        return configured  # the user's (or the no-op default, which costs next to nothing)
    service = os.environ.get("OTEL_SERVICE_NAME") or agent
    provider = _CONFIGURED.get(service)
    if provider is None:
        provider = _CONFIGURED[service] = _otlp_provider(service)
        if not ours:
            trace.set_tracer_provider(provider)
    return provider


def _otlp_provider(service: str) -> trace.TracerProvider:
    # Imported only when exporting: the SDK and the exporter are not needed otherwise.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def flush(timeout_ms: int = FLUSH_MS) -> None:
    """Export what is buffered (the worker calls it as it stops): ours, and the global
    provider's when it can flush (the SDK's can)."""
    providers = [*_CONFIGURED.values(), trace.get_tracer_provider()]
    for provider in providers:
        force_flush = getattr(provider, "force_flush", None)
        if force_flush is not None:
            force_flush(timeout_ms)
