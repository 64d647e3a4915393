"""Exactly-once mode on the real broker: replicas killed -9 mid-stream, and a zombie.

A `read_committed` reader must see every output exactly once. The same chaos run in
at-least-once mode loses nothing too, and prints how many duplicates it made.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient

from hivebus import Agent, Context, Publisher, Retry
from hivebus.contracts import Serde
from hivebus.testing.reader import read_events
from hivebus.testing.stack import unique_name
from hivebus.testing.worker import running, wait_for
from tests.integration.runtime_contracts import Ping, Pong
from tests.integration.runtime_support import (
    committed_offsets,
    end_offset,
    pings,
    publish,
    topics,
)

RELAY = Path(__file__).parent / "agents" / "eos_relay.py"
KILLS = 6  # one every 3 s, while the 10,000 events (about 17 s of work) flow
SESSION = ["--consumer-config", "session.timeout.ms=6000", "--consumer-config",
           "heartbeat.interval.ms=1000"]  # fmt: skip


def _replica(env: dict[str, str], *extra: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "hivebus.cli", "run", str(RELAY), "--grace=2", *extra]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _env(name: str, source: str, output: str, guarantee: str, delay_s: float) -> dict[str, str]:
    return {
        **os.environ, "RELAY_AGENT": name, "RELAY_SOURCE": source, "RELAY_OUTPUT": output,
        "RELAY_GUARANTEE": guarantee, "RELAY_DELAY_S": str(delay_s),
    }  # fmt: skip


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGCONT)
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(40)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.mark.parametrize("guarantee", ["exactly_once", "at_least_once"])
async def test_replicas_killed_every_few_seconds_lose_nothing_and_eos_repeats_nothing(
    admin: AdminClient, registry: SchemaRegistryClient, guarantee: str
) -> None:
    source, output = topics(admin, f"chaos-{guarantee[:3]}", partitions=6)
    name = unique_name(f"chaos-{guarantee[:3]}")
    events = pings(10_000, keys=500)
    async with Publisher("tests") as publisher:
        await publisher.publish_many(source, [(e.key, e) for e in events])
    env = _env(name, source, output, guarantee, delay_s=0.01)
    alive = [_replica(env, *SESSION), _replica(env, *SESSION)]
    every: list[subprocess.Popen[bytes]] = list(alive)
    serde, rng, kills = Serde(registry), random.Random(7), 0
    wanted = {e.id for e in events}
    try:
        for _ in range(KILLS):
            await asyncio.sleep(3)
            victim = alive.pop(rng.randrange(len(alive)))
            victim.send_signal(signal.SIGKILL)
            victim.wait(10)
            kills += 1
            fresh = _replica(env, *SESSION)
            alive.append(fresh)
            every.append(fresh)
        await read_events(
            serde, output, Pong, len(events), timeout_s=120, committed_only=True,
            until=lambda got: wanted <= {r.event.id for r in got},
        )  # fmt: skip
    finally:
        _stop(every)

    got = await read_events(
        serde, output, Pong, len(events), timeout_s=30, committed_only=True,
        until=lambda got: wanted <= {r.event.id for r in got},
    )  # fmt: skip
    counts = Counter(r.event.id for r in got)
    lost = wanted - set(counts)
    duplicates = sum(n - 1 for n in counts.values())
    print(f"{guarantee}: {kills} replicas killed, {len(lost)} lost, {duplicates} duplicates")
    assert kills == KILLS
    assert not lost, f"{len(lost)} events have no output"
    if guarantee == "exactly_once":
        assert duplicates == 0, f"{duplicates} outputs were seen more than once"


@pytest.mark.parametrize("guarantee", ["exactly_once", "at_least_once"])
async def test_a_zombie_that_resumes_after_its_session_timed_out_commits_nothing(
    admin: AdminClient, registry: SchemaRegistryClient, guarantee: str
) -> None:
    # The zombie is stopped with jobs in flight and continued after the group gave its
    # partitions away (a lost partition). Exactly once: its transaction must fail (KIP-447).
    # At least once: its outputs may repeat, but nothing is lost and its late commits never
    # move the group's offsets (they end at the end of the topic).
    source, output = topics(admin, f"zombie-{guarantee[:3]}", partitions=2)
    name = unique_name(f"zombie-{guarantee[:3]}")
    env = _env(name, source, output, guarantee, delay_s=0.5)
    zombie = _replica(env, *SESSION)
    others: list[subprocess.Popen[bytes]] = []
    serde = Serde(registry)
    events = pings(200, keys=20)
    wanted = {e.id for e in events}
    try:
        await asyncio.sleep(7)  # the zombie-to-be joins and owns both partitions
        async with Publisher("tests") as publisher:
            await publisher.publish_many(source, [(e.key, e) for e in events])
        await asyncio.sleep(2)  # it is mid-work
        zombie.send_signal(signal.SIGSTOP)
        others.append(_replica(env, *SESSION))
        await asyncio.sleep(12)  # past the session timeout: the survivor owns everything
        zombie.send_signal(signal.SIGCONT)
        await read_events(
            serde, output, Pong, len(events), timeout_s=90, committed_only=True,
            until=lambda got: wanted <= {r.event.id for r in got},
        )  # fmt: skip
        await asyncio.sleep(5)  # room for a zombie's commit to show up
        committed = await asyncio.to_thread(committed_offsets, name, source, 2)
    finally:
        _stop([zombie, *others])

    every = await read_events(serde, output, Pong, 10**9, timeout_s=8, committed_only=True)
    counts = Counter(r.event.id for r in every)
    assert set(counts) == wanted, "events were lost"
    assert committed == [end_offset(source, p) for p in range(2)]
    if guarantee == "exactly_once":
        assert [i for i, n in counts.items() if n > 1] == [], "the zombie's outputs committed"
    by = Counter(r.event.handled_by for r in every)
    assert str(others[0].pid) in by, by


async def test_outputs_of_a_failed_attempt_are_never_committed(
    admin: AdminClient, registry: SchemaRegistryClient
) -> None:
    # Each event publishes, then fails its first attempt; the second attempt publishes again
    # and succeeds. Exactly once: one output per event (before the fix, two).
    source, output = topics(admin, "eos-retry", partitions=1)
    agent = Agent(unique_name("eos-retry"), guarantee="exactly_once",
                  retry=Retry(attempts=3, backoff_s=0.01))  # fmt: skip
    attempts: Counter[str] = Counter()

    @agent.on(source, Ping)
    async def flaky(ping: Ping, ctx: Context) -> None:
        attempts[ping.id] += 1
        await ctx.publish(output, Pong(id=ping.id, key=ping.key, seq=ping.seq))
        if attempts[ping.id] == 1:
            raise RuntimeError("transient")

    events = pings(20, keys=5)
    async with running([agent]):
        await publish(source, events)
        await wait_for(
            lambda: len(attempts) == 20 and all(n == 2 for n in attempts.values()),
            what="every event's second attempt",
        )
        await read_events(Serde(registry), output, Pong, 20, timeout_s=30, committed_only=True)
        await asyncio.sleep(1)  # a transaction with a repeat would have committed by now
    got = await read_events(Serde(registry), output, Pong, 40, timeout_s=5, committed_only=True)
    assert sorted(r.event.id for r in got) == sorted(e.id for e in events)
