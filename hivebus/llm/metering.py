"""Prometheus metrics of LLM calls: tokens, requests by outcome, and latency, per agent and model.

Prometheus accepts each metric name once per registry, so the metrics are created once per
registry and shared by every `LLM` that records into it. Tests pass their own
`CollectorRegistry`; everything else uses prometheus_client's global `REGISTRY`, which the
runtime's `/metrics` endpoint exposes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from weakref import WeakKeyDictionary

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram

from hivebus.llm.completion import Completion
from hivebus.llm.usage import Usage

# LLM calls take from tens of milliseconds (cached, small models) to minutes (long generations).
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


@dataclass(frozen=True)
class LLMMetrics:
    """The three LLM metric families in one registry."""

    tokens: Counter
    requests: Counter
    latency: Histogram


_metrics_by_registry: WeakKeyDictionary[CollectorRegistry, LLMMetrics] = WeakKeyDictionary()


def llm_metrics(registry: CollectorRegistry = REGISTRY) -> LLMMetrics:
    """The LLM metrics of `registry`, registered there on first use."""
    metrics = _metrics_by_registry.get(registry)
    if metrics is None:
        metrics = LLMMetrics(
            tokens=Counter(
                "hivebus_llm_tokens_total",
                "Tokens spent on LLM calls; kind is prompt or completion.",
                ["agent", "model", "kind"],
                registry=registry,
            ),
            requests=Counter(
                "hivebus_llm_requests_total",
                "LLM calls by outcome (ok or error), counted once however often the SDK retried.",
                ["agent", "model", "outcome"],
                registry=registry,
            ),
            latency=Histogram(
                "hivebus_llm_latency_seconds",
                "Wall time of answered LLM calls, retries included.",
                ["agent", "model"],
                registry=registry,
                buckets=LATENCY_BUCKETS,
            ),
        )
        _metrics_by_registry[registry] = metrics
    return metrics


@dataclass
class Meter:
    """Records each call into Prometheus and into the in-process `usage` totals."""

    registry: CollectorRegistry = REGISTRY
    usage: Usage = field(default_factory=Usage)

    def record(self, agent: str, completion: Completion) -> None:
        """An answered call, labelled with the model that answered."""
        metrics = llm_metrics(self.registry)
        model = completion.model
        metrics.tokens.labels(agent, model, "prompt").inc(completion.prompt_tokens)
        metrics.tokens.labels(agent, model, "completion").inc(completion.completion_tokens)
        metrics.requests.labels(agent, model, "ok").inc()
        metrics.latency.labels(agent, model).observe(completion.latency_s)
        self.usage.add(completion)

    def record_error(self, agent: str, model: str) -> None:
        """A failed call, labelled with the model asked for (no model answered)."""
        llm_metrics(self.registry).requests.labels(agent, model, "error").inc()
