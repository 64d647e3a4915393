"""`counting()` sees the LLM requests of its own context only: concurrent runs never mix."""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry

from hivebus.llm import LLM, OfflineProvider
from hivebus.llm.metering import Meter
from hivebus.llm.usage import counting


def _llm() -> LLM:
    return LLM(OfflineProvider(), model="gpt-4o-mini", meter=Meter(CollectorRegistry()))


async def test_a_count_holds_the_requests_made_inside_it_and_in_tasks_it_starts() -> None:
    llm = _llm()
    await llm.complete("before")  # not counted: outside
    with counting() as usage:
        reply = await llm.complete("one")
        await asyncio.gather(llm.complete("two"), llm.complete("three"))
    await llm.complete("after")
    assert usage.requests == 3
    assert usage.prompt_tokens > 0 and usage.completion_tokens >= reply.completion_tokens
    assert llm.usage.requests == 5


async def test_concurrent_counts_see_only_their_own_requests() -> None:
    llm = _llm()

    async def piece(requests: int) -> int:
        with counting() as usage:
            for n in range(requests):
                await llm.complete(f"request {n}")
                await asyncio.sleep(0)  # let the others interleave
        return usage.requests

    assert await asyncio.gather(piece(1), piece(4), piece(2)) == [1, 4, 2]
