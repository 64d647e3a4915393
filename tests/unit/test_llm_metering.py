"""Every call is counted: tokens, requests by outcome, latency, and in-process usage."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY, CollectorRegistry

from hivebus.llm import LLM, LLMRequestError, OfflineProvider
from hivebus.llm.metering import Meter, llm_metrics
from hivebus.llm.provider import ChatRequest, Reply


class FailingProvider:
    """Fails every call the way an unreachable server does."""

    async def chat(self, request: ChatRequest) -> Reply:
        raise LLMRequestError("no answer", status_code=503)

    async def aclose(self) -> None:
        """Nothing to release."""


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


def _value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


async def test_tokens_requests_and_latency_are_counted(registry: CollectorRegistry) -> None:
    llm = LLM(OfflineProvider(), model="m", meter=Meter(registry))

    first = await llm.complete("one", agent="fraud")
    second = await llm.complete("two two", agent="fraud")

    labels = {"agent": "fraud", "model": "offline"}
    prompt = first.prompt_tokens + second.prompt_tokens
    completion = first.completion_tokens + second.completion_tokens
    assert _value(registry, "hivebus_llm_tokens_total", **labels, kind="prompt") == prompt
    assert _value(registry, "hivebus_llm_tokens_total", **labels, kind="completion") == completion
    assert _value(registry, "hivebus_llm_requests_total", **labels, outcome="ok") == 2
    assert _value(registry, "hivebus_llm_latency_seconds_count", **labels) == 2
    assert llm.usage.requests == 2
    assert (llm.usage.prompt_tokens, llm.usage.completion_tokens) == (prompt, completion)
    assert str(llm.usage) == f"2 LLM requests, {prompt} prompt + {completion} completion tokens"


async def test_a_failed_call_counts_as_an_error_under_the_model_asked_for(
    registry: CollectorRegistry,
) -> None:
    llm = LLM(FailingProvider(), model="gpt-4o-mini", meter=Meter(registry))

    with pytest.raises(LLMRequestError):
        await llm.complete("hello", agent="research")

    labels = {"agent": "research", "model": "gpt-4o-mini"}
    assert _value(registry, "hivebus_llm_requests_total", **labels, outcome="error") == 1
    assert _value(registry, "hivebus_llm_latency_seconds_count", **labels) == 0
    assert llm.usage.requests == 0


async def test_for_agent_labels_calls_and_shares_the_totals(registry: CollectorRegistry) -> None:
    llm = LLM(OfflineProvider(), model="m", meter=Meter(registry))

    await llm.complete("unlabelled")
    await llm.for_agent("compliance").complete("labelled")
    await llm.for_agent("compliance").complete("overridden", agent="audit")

    for agent in ("-", "compliance", "audit"):
        labels = {"agent": agent, "model": "offline", "outcome": "ok"}
        assert _value(registry, "hivebus_llm_requests_total", **labels) == 1
    assert llm.usage.requests == 3


def test_metrics_are_registered_once_per_registry(registry: CollectorRegistry) -> None:
    assert llm_metrics(registry) is llm_metrics(registry)
    assert llm_metrics(registry) is not llm_metrics(CollectorRegistry())
    LLM(OfflineProvider(), model="m", meter=Meter(registry))
    LLM(OfflineProvider(), model="m", meter=Meter(registry))  # no "Duplicated timeseries"
    assert Meter().registry is REGISTRY  # the process-wide registry unless told otherwise
