"""Parallel tool fan-out on the real broker and registry: tool calls run side by side by
tool workers, joined by a deadline into partial results, and replayed the same."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient

from hivebus import Agent, Context, DurableContext, Retry
from hivebus.contracts import Serde
from hivebus.dev import Endpoints
from hivebus.patterns import ToolCall, ToolResults, Tools, WorkItem
from hivebus.testing.reader import read_events
from hivebus.testing.stack import unique_name
from hivebus.testing.worker import running
from tests.integration.runtime_contracts import Ping, Pong
from tests.integration.runtime_support import pings, publish, topics


async def test_tool_calls_run_in_parallel_and_a_deadline_gives_partial_results(
    stack: Endpoints, admin: AdminClient, registry: SchemaRegistryClient
) -> None:
    source, output = topics(admin, "fan")
    tools = Tools(unique_name("tools"), partitions=2)
    runs: dict[str, ToolResults] = {}
    started: list[float] = []

    async def lookup(arguments: Any, ctx: Context) -> dict[str, Any]:
        started.append(time.monotonic())
        await asyncio.sleep(arguments["s"])
        return {"slept": arguments["s"]}

    async def broken(arguments: Any, ctx: Context) -> None:
        raise RuntimeError("upstream said 503")

    caller = Agent(unique_name("caller"), durable=True, calls=tools.calls)

    @caller.on(source, Ping, output=output)
    async def investigate(ping: Ping, ctx: DurableContext) -> Pong:
        calls = [ToolCall(f"{ping.id}-a", "lookup", {"s": 1.0}),
                 ToolCall(f"{ping.id}-b", "lookup", {"s": 1.2}),
                 ToolCall(f"{ping.id}-c", "lookup", {"s": 30.0}),
                 ToolCall(f"{ping.id}-d", "broken")]  # fmt: skip
        got = await tools.fan_out(ctx, calls, timeout_s=6)
        runs[ping.id] = got
        return Pong(id=ping.id, key=ping.key, seq=ping.seq, handled_by=json.dumps(got.messages()))

    worker = tools.worker(unique_name("tool-worker"), {"lookup": lookup, "broken": broken},
                          retry=Retry(attempts=1), max_in_flight=8)  # fmt: skip
    serde = Serde(registry)
    async with running([caller, worker]):
        posted = time.monotonic()
        await publish(source, pings(1))
        got = await read_events(serde, output, Pong, 1, timeout_s=60, committed_only=True)
        took = time.monotonic() - posted
    results = runs["p0"]
    assert results.values == {"p0-a": {"slept": 1.0}, "p0-b": {"slept": 1.2}}
    assert results.errors == {"p0-d": "RuntimeError: upstream said 503"}
    assert results.missing == ["p0-c"]
    # Side by side: the three lookups started within a moment of one another, and the run
    # ended at its 6 s deadline, not after the 30 s tool.
    assert max(started) - min(started) < 1.0 and took < 25
    messages = json.loads(got[0].event.handled_by)
    assert [m["tool_call_id"] for m in messages] == ["p0-a", "p0-b", "p0-c", "p0-d"]
    assert "did not answer in time" in messages[2]["content"]
    assert "upstream said 503" in messages[3]["content"]
    # The tool call ids are the tasks' ids on the wire.
    sent = await read_events(serde, tools.pool.tasks_topic, WorkItem, 4, timeout_s=10)
    assert sorted(r.event.id for r in sent) == ["p0-a", "p0-b", "p0-c", "p0-d"]
