"""Rebalances with work in flight: a replica joining, jobs outliving the grace, a dead consumer.

Two workers of one agent run in this process (two consumers of one group), so the test sees
exactly which instance handled each event and when.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient

from hivebus import Agent, Context
from hivebus.contracts import Serde
from hivebus.runtime.directory import read_directory
from hivebus.testing.reader import read_events
from hivebus.testing.stack import unique_name
from hivebus.testing.worker import running, wait_for
from tests.integration.runtime_contracts import Ping, Pong
from tests.integration.runtime_support import committed_offsets, end_offset, pings, publish, topics

RELAY = Path(__file__).parent / "agents" / "relay.py"


def _slow_agent(name: str, source: str, output: str, tag: str, delay_s: float,
                started: Counter[str], **options: object) -> Agent:  # fmt: skip
    agent = Agent(name, **options)  # type: ignore[arg-type]

    @agent.on(source, Ping, output=output)
    async def slow(ping: Ping, ctx: Context) -> Pong:
        started[tag] += 1
        await asyncio.sleep(delay_s)
        return Pong(id=ping.id, key=ping.key, seq=ping.seq, handled_by=tag)

    return agent


async def test_a_replica_joining_mid_stream_loses_nothing_and_repeats_nothing(
    admin: AdminClient, registry: SchemaRegistryClient
) -> None:
    # 200 slow jobs over 40 keys; a second replica joins while they run. Its revoked
    # partitions drain within the grace and commit exactly what completed, so the new owner
    # neither skips nor repeats anything (before the fix: stuck lanes lost events, and late
    # periodic commits moved offsets backwards, repeating finished work).
    source, output = topics(admin, "joining", partitions=4)
    name = unique_name("joining")
    started: Counter[str] = Counter()
    events = pings(200, keys=40)
    # Fewer slots than partitions: some partitions' heads wait in the ready queue at the revoke.
    options = {"max_in_flight": 2, "ordering": "partition"}
    first = _slow_agent(name, source, output, "first", 0.1, started, **options)
    second = _slow_agent(name, source, output, "second", 0.1, started, **options)
    serde = Serde(registry)
    async with running([first], drain_grace_s=10):
        await publish(source, events)
        await wait_for(lambda: started["first"] >= 10, what="the first replica to be busy")
        async with running([second], drain_grace_s=10):
            got = await read_events(serde, output, Pong, len(events), timeout_s=90)
            await wait_for(lambda: sum(started.values()) >= len(events), what="every event")
            await asyncio.sleep(1.5)  # room for a repeat to show up
        stopping = time.monotonic()
    stop_s = time.monotonic() - stopping

    every = await read_events(serde, output, Pong, len(events), timeout_s=5)
    counts = Counter(r.event.id for r in every)
    assert set(counts) == {e.id for e in events}, "events were lost"
    assert [i for i, n in counts.items() if n > 1] == [], "finished work ran again"
    assert started["second"] > 0, "the second replica never got a partition"
    assert len(got) == len(events)
    assert committed_offsets(name, source, 4) == [end_offset(source, p) for p in range(4)]
    assert stop_s < 5, f"stopping an idle worker took {stop_s:.1f} s of its 10 s grace"


async def test_jobs_still_running_after_the_grace_are_cancelled_and_their_outputs_fenced(
    admin: AdminClient, registry: SchemaRegistryClient
) -> None:
    # Every job takes 6 s, the grace is 1 s. When the second replica joins, the first cancels
    # the jobs of the partitions it gives away: they run once more on the new owner, and the
    # cancelled ones never publish (before the fix both published, and the old jobs completed
    # offsets into the partition's next assignment).
    source, output = topics(admin, "fenced", partitions=2)
    name = unique_name("fenced")
    started: Counter[str] = Counter()
    events = pings(8, keys=8)
    first = _slow_agent(name, source, output, "first", 6.0, started, max_in_flight=16)
    second = _slow_agent(name, source, output, "second", 6.0, started, max_in_flight=16)
    serde = Serde(registry)
    async with running([first], drain_grace_s=1):
        await publish(source, events)
        await wait_for(lambda: started["first"] == len(events), what="all jobs to start")
        async with running([second], drain_grace_s=1):
            await wait_for(lambda: started["second"] > 0, what="the new owner to start work")
            got = await read_events(serde, output, Pong, len(events), timeout_s=30)
            await asyncio.sleep(7)  # the cancelled jobs would have finished by now
            every = await read_events(serde, output, Pong, len(events), timeout_s=5)

    moved = started["second"]
    counts = Counter(r.event.id for r in every)
    assert len(got) == len(events)
    assert set(counts) == {e.id for e in events}
    assert [i for i, n in counts.items() if n > 1] == [], "a cancelled job still published"
    by = Counter(r.event.handled_by for r in every)
    assert by == {"first": len(events) - moved, "second": moved}


def _start(command: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)


async def test_a_consumer_that_dies_stops_the_worker_with_an_error_and_the_directory_says_so(
    admin: AdminClient, registry: SchemaRegistryClient
) -> None:
    # A static member fenced by another with the same group.instance.id can never consume
    # again (librdkafka's fatal error). Before the fix the worker went on, announcing the
    # agent as live; now it exits non-zero and announces the agent "failed".
    source, output = topics(admin, "fatal", partitions=1)
    name = unique_name("fatal")
    env = {**os.environ, "RELAY_AGENT": name, "RELAY_SOURCE": source, "RELAY_OUTPUT": output}
    command = [
        sys.executable, "-m", "hivebus.cli", "run", str(RELAY), "--heartbeat=1",
        "--consumer-config", "group.instance.id=same-instance",
        "--consumer-config", "session.timeout.ms=6000",
    ]  # fmt: skip
    first = _start(command, env)
    second = None
    try:
        await asyncio.sleep(6)  # the first joins and owns the partition
        second = _start(command, env)
        code = await asyncio.to_thread(first.wait, 60)
        stderr = first.stderr.read() if first.stderr else ""
        views = await asyncio.to_thread(read_directory, Serde(registry))
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(30)

    assert code == 1
    assert f"agent {name} stopped consuming" in stderr
    assert "fenced" in stderr
    statuses = {a.instance: a.status for a in views[name].instances.values()}
    assert "failed" in statuses.values(), statuses
