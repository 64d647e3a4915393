"""Workload (b) for the runtime: a slow (LLM-like) handler behind one partition.

5,000 events on one partition, 1,000 keys, each handled in 200 ms. Ideal throughput is
min(keys, max_in_flight) / 0.2 s. Reported: events/s, its fraction of the ideal, and per-key
order violations (a key's events handled out of publish order).
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections import defaultdict
from typing import Any

from confluent_kafka import Producer

from bench.contracts import Payment, payment
from hivebus import Agent, Context
from hivebus.contracts import Serde, registry_client
from hivebus.kafka.admin import TopicSpec, admin_client, ensure_topics
from hivebus.kafka.config import producer_config
from hivebus.testing.worker import running


def run(
    count: int = 5000,
    keys: int = 1000,
    delay_s: float = 0.2,
    max_in_flight: int = 256,
    say: Any = print,
) -> dict[str, Any]:
    topic = f"bench.slow.{uuid.uuid4().hex[:8]}"
    ensure_topics(admin_client(), [TopicSpec(topic, partitions=1)])
    encoder = Serde(registry_client()).encoder(topic, Payment)
    producer = Producer(producer_config("bench-slow"))
    for i in range(count):
        value = payment(i, keys)
        producer.produce(topic, encoder.encode(Payment(**value)), key=str(value["account"]))
    producer.flush(60)
    say(
        f"target: slow handler, {count:,} events, 1 partition, {keys:,} keys, "
        f"{delay_s * 1000:.0f} ms each, max_in_flight {max_in_flight}"
    )
    result = asyncio.run(
        _measure(topic, count, delay_s, max_in_flight, min(keys, max_in_flight) / delay_s)
    )
    say(
        f"    hivebus {result['events_per_s']:,.0f} events/s = {result['fraction_of_ideal']:.2f} "
        f"of ideal, {result['order_violations']} order violations"
    )
    return result


async def _measure(
    topic: str, count: int, delay_s: float, max_in_flight: int, ideal: float
) -> dict[str, Any]:
    agent = Agent(f"bench-slow-{uuid.uuid4().hex[:8]}", max_in_flight=max_in_flight)
    seen: dict[str, list[int]] = defaultdict(list)
    clock: dict[str, float] = {}
    done = asyncio.Event()

    @agent.on(topic, Payment)
    async def think(event: Payment, ctx: Context) -> None:
        clock.setdefault("first", time.perf_counter())
        seen[event.account].append(event.seq)
        await asyncio.sleep(delay_s)  # the LLM call
        clock["last"] = time.perf_counter()
        if sum(map(len, seen.values())) >= count:
            done.set()

    async with running([agent], wait_for_assignment=True):
        await asyncio.wait_for(done.wait(), timeout=count * delay_s + 120)
    elapsed = clock["last"] - clock["first"]
    violations = sum(sum(1 for a, b in itertools.pairwise(seqs) if b < a) for seqs in seen.values())
    rate = count / elapsed
    return {
        "workload": "slow-handler",
        "count": count,
        "events_per_s": rate,
        "ideal_events_per_s": ideal,
        "fraction_of_ideal": rate / ideal,
        "order_violations": violations,
        "seconds": elapsed,
    }
