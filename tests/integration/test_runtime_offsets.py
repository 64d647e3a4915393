"""What is committed: the lowest incomplete offset, plus the completed records above it."""

from __future__ import annotations

import asyncio
import urllib.request
from collections import Counter

from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient

from hivebus import Agent, Context
from hivebus.contracts import Serde
from hivebus.testing.reader import read_events
from hivebus.testing.stack import unique_name
from hivebus.testing.worker import running, wait_for
from tests.integration.runtime_contracts import Ping, Pong
from tests.integration.runtime_support import publish, topics


def _agent(name: str, source: str, output: str, calls: Counter[str], stall: bool) -> Agent:
    agent = Agent(name, max_in_flight=16)

    @agent.on(source, Ping, output=output)
    async def handle(ping: Ping, ctx: Context) -> Pong:
        calls[ping.id] += 1
        if stall and ping.key == "slow":
            await asyncio.sleep(60)  # still running when the worker stops
        return Pong(id=ping.id, key=ping.key, seq=ping.seq)

    return agent


async def test_a_restart_reruns_only_what_was_not_complete(
    admin: AdminClient, registry: SchemaRegistryClient
) -> None:
    source, output = topics(admin, "restart", partitions=1)
    name = unique_name("restartable")
    events = [Ping(id="s0", key="slow", seq=0)] + [
        Ping(id=f"f{i}", key=f"k{i}", seq=0) for i in range(1, 10)
    ]
    first_calls: Counter[str] = Counter()
    async with running([_agent(name, source, output, first_calls, stall=True)], drain_grace_s=0.5):
        await publish(source, events)
        await read_events(Serde(registry), output, Pong, 9)
        await asyncio.sleep(1.2)  # a commit interval passes with f1..f9 complete, s0 not
    assert first_calls["s0"] == 1

    again: Counter[str] = Counter()
    async with running([_agent(name, source, output, again, stall=False)]):
        await wait_for(lambda: again["s0"] == 1, what="the unfinished record to run again")
        await asyncio.sleep(1.0)  # time for anything else to be (wrongly) re-run
    assert dict(again) == {"s0": 1}  # f1..f9 were completed above the commit: skipped


async def test_the_worker_serves_prometheus_metrics(admin: AdminClient) -> None:
    source, output = topics(admin, "metered", partitions=1)
    name = unique_name("metered")
    calls: Counter[str] = Counter()
    port = 19464 + (hash(name) % 500)
    async with running([_agent(name, source, output, calls, stall=False)], metrics_port=port):
        await publish(source, [Ping(id=f"m{i}", key="k", seq=i) for i in range(5)])
        await wait_for(lambda: sum(calls.values()) == 5, what="five events handled")
        await asyncio.sleep(0.5)  # their outputs are acknowledged
        url = f"http://127.0.0.1:{port}/metrics"
        body = await asyncio.to_thread(
            lambda: urllib.request.urlopen(url, timeout=5).read().decode()
        )
    assert f'hivebus_events_consumed_total{{agent="{name}",topic="{source}"}} 5.0' in body
    assert f'hivebus_events_produced_total{{agent="{name}",topic="{output}"}} 5.0' in body
    assert f'hivebus_handler_seconds_count{{agent="{name}"}} 5.0' in body
    assert f'hivebus_in_flight{{agent="{name}"}}' in body
