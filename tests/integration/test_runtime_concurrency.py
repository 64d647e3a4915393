"""Key order under concurrency, slow handlers without rebalances, replicas that take over."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient

from hivebus import Agent, Context, Publisher
from hivebus.contracts import Serde
from hivebus.testing.reader import read_events
from hivebus.testing.stack import unique_name
from hivebus.testing.worker import running
from tests.integration.runtime_contracts import Ping, Pong
from tests.integration.runtime_support import pings, publish, topics

RELAY = Path(__file__).parent / "agents" / "relay.py"


async def test_per_key_order_holds_while_keys_run_concurrently(
    admin: AdminClient, registry: SchemaRegistryClient
) -> None:
    source, output = topics(admin, "order", partitions=3)
    agent = Agent(unique_name("ordered"), max_in_flight=40)
    handled: dict[str, list[int]] = defaultdict(list)
    running_now, peak = 0, 0
    rng = random.Random(3)

    @agent.on(source, Ping, output=output)
    async def slow_relay(ping: Ping, ctx: Context) -> Pong:
        nonlocal running_now, peak
        running_now += 1
        peak = max(peak, running_now)
        await asyncio.sleep(rng.uniform(0, 0.015))
        handled[ping.key].append(ping.seq)
        running_now -= 1
        return Pong(id=ping.id, key=ping.key, seq=ping.seq)

    events = pings(400, keys=20)
    await publish(source, events)  # a backlog, so concurrency is up to the runtime
    async with running([agent]):
        got = await read_events(Serde(registry), output, Pong, len(events))

    assert len(handled) == 20
    for key, seqs in handled.items():
        assert seqs == sorted(seqs), f"key {key} handled out of order: {seqs}"
    outputs: dict[str, list[int]] = defaultdict(list)
    for received in sorted(got, key=lambda r: (r.message.partition(), r.message.offset())):
        outputs[received.event.key].append(received.event.seq)
    assert all(seqs == list(range(20)) for seqs in outputs.values())
    assert peak > 5, f"only {peak} handlers ever ran at once"


async def test_backpressure_pauses_and_resumes_a_partition_without_loss_or_repeats(
    admin: AdminClient,
) -> None:
    source, _ = topics(admin, "backpressure", partitions=1)
    agent = Agent(unique_name("pressed"), max_in_flight=4)
    handled: dict[str, list[int]] = defaultdict(list)
    all_handled = asyncio.Event()

    @agent.on(source, Ping)
    async def think(ping: Ping, ctx: Context) -> None:
        await asyncio.sleep(0.001)
        handled[ping.key].append(ping.seq)
        if sum(map(len, handled.values())) >= len(events):
            all_handled.set()

    events = pings(3000, keys=30)  # a backlog three times the high watermark (1,000 waiting)
    async with Publisher("tests") as publisher:
        await publisher.publish_many(source, [(e.key, e) for e in events])
    async with running([agent]) as worker:
        dispatcher = worker.runners[0].dispatcher
        await asyncio.wait_for(all_handled.wait(), timeout=60)
        await asyncio.sleep(0.5)  # room for a repeat to show up
        pauses, resumes = dispatcher.pauses, dispatcher.resumes

    assert pauses >= 1 and resumes >= 1, f"paused {pauses}, resumed {resumes} times"
    assert dict(handled) == {
        f"k{k}": list(range(100)) for k in range(30)
    }  # every event once, each key in order, across the pause/resume cycles


async def test_a_handler_slower_than_max_poll_interval_causes_no_rebalance(
    admin: AdminClient, registry: SchemaRegistryClient
) -> None:
    source, output = topics(admin, "slow", partitions=1)
    agent = Agent(unique_name("slowpoke"), max_in_flight=8)
    calls: dict[str, int] = defaultdict(int)

    @agent.on(source, Ping, output=output)
    async def ponder(ping: Ping, ctx: Context) -> Pong:
        calls[ping.id] += 1
        if ping.key == "k0":
            await asyncio.sleep(9)  # longer than max.poll.interval.ms below
        return Pong(id=ping.id, key=ping.key, seq=ping.seq)

    limits = {"max.poll.interval.ms": 6000, "session.timeout.ms": 6000}
    async with running([agent], consumer_overrides=limits) as worker:
        started = time.monotonic()
        await publish(source, pings(10, keys=5))
        fast = await read_events(Serde(registry), output, Pong, 8, timeout_s=30)
        fast_done = time.monotonic() - started
        everything = await read_events(Serde(registry), output, Pong, 10, timeout_s=40)
        dispatcher = worker.runners[0].dispatcher
        assignments, revocations = dispatcher.assigned, dispatcher.revocations

    assert {r.event.key for r in fast} == {"k1", "k2", "k3", "k4"}  # not stuck behind k0
    assert fast_done < 8
    assert sorted(r.event.id for r in everything) == sorted(f"p{i}" for i in range(10))
    assert (assignments, revocations) == (1, 0)
    assert all(n == 1 for n in calls.values())


def _replica(name: str, source: str, output: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "RELAY_AGENT": name, "RELAY_SOURCE": source, "RELAY_OUTPUT": output,
        "RELAY_DELAY_S": "0.02",
    }  # fmt: skip
    return subprocess.Popen(
        [sys.executable, "-m", "hivebus.cli", "run", str(RELAY), "--heartbeat=1", "--grace=3"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip


async def test_replicas_split_partitions_and_a_survivor_takes_over_a_killed_one(
    admin: AdminClient, registry: SchemaRegistryClient
) -> None:
    source, output = topics(admin, "replicas", partitions=6)
    name = unique_name("replicated")
    first, second = _replica(name, source, output), _replica(name, source, output)
    serde = Serde(registry)
    try:
        await asyncio.sleep(8)  # both join the group
        await publish(source, pings(60, keys=30))
        before = await read_events(serde, output, Pong, 60, timeout_s=60)
        handlers = {r.event.handled_by for r in before}
        assert handlers == {str(first.pid), str(second.pid)}, "both replicas should own partitions"

        first.send_signal(signal.SIGKILL)
        first.wait(10)
        later = [Ping(id=f"q{i}", key=f"k{i % 30}", seq=100 + i) for i in range(60)]
        await publish(source, later)
        wanted = {f"q{i}" for i in range(60)}
        after = await read_events(
            serde, output, Pong, 120, timeout_s=90,
            until=lambda got: wanted <= {r.event.id for r in got},
        )  # fmt: skip
    finally:
        for process in (first, second):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(30)

    ids = {r.event.id for r in after}
    assert ids >= {f"q{i}" for i in range(60)}, "events published after the kill were lost"
    assert {r.event.handled_by for r in after if r.event.id.startswith("q")} == {str(second.pid)}
