"""A replica killed mid-stream loses nothing: every event in flight at the kill is handled
again by the survivor (at least once: duplicates allowed, and counted)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient

from hivebus import Publisher
from hivebus.contracts import Serde
from hivebus.dev import Endpoints
from hivebus.testing.reader import read_events
from hivebus.testing.stack import unique_name
from tests.integration.runtime_contracts import Ping, Pong
from tests.integration.runtime_support import topics

RELAY = Path(__file__).parent / "agents" / "relay.py"
EVENTS, KEYS, CHUNK = 1200, 120, 40  # published 40 every 0.1 s: faster than one replica runs


def _replica(name: str, source: str, output: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "RELAY_AGENT": name, "RELAY_SOURCE": source, "RELAY_OUTPUT": output,
        "RELAY_DELAY_S": "0.1",  # 16 in flight: about 160 events/s a replica
    }  # fmt: skip
    return subprocess.Popen(
        [
            sys.executable, "-m", "hivebus.cli", "run", str(RELAY), "--heartbeat=1", "--grace=3",
            # the group notices the killed member within seconds, not the default 45
            "--consumer-config", "session.timeout.ms=6000",
            "--consumer-config", "heartbeat.interval.ms=500",
        ],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


class _Tail:
    """Reads `topic` from its start on a thread: every Pong with when it was seen; `covered`
    is set once every id in `wanted` has been seen."""

    def __init__(self, bootstrap: str, serde: Serde, topic: str, wanted: set[str]) -> None:
        self.seen: list[tuple[float, Pong]] = []
        self.wanted = set(wanted)  # not seen yet
        self.covered = threading.Event()  # every wanted id has been seen
        self._stop = threading.Event()
        self._consumer = Consumer({
            "bootstrap.servers": bootstrap,
            "group.id": f"hivebus-test-tail-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        })  # fmt: skip
        self._consumer.subscribe([topic])
        self._serde = serde
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            message = self._consumer.poll(0.1)
            if message is None or message.error() is not None:
                continue
            pong = self._serde.decode(message.value() or b"", Pong)
            self.seen.append((time.monotonic(), pong))
            self.wanted.discard(pong.id)
            if not self.wanted:
                self.covered.set()

    def ids(self) -> set[str]:
        return {pong.id for _, pong in list(self.seen)}

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self._consumer.close()


def _members(admin: AdminClient, group: str) -> dict[str, set[int]]:
    """The group's members (by client id) and the partitions each owns, once it is stable."""
    [future] = admin.describe_consumer_groups([group], request_timeout=5).values()
    description = future.result(timeout=10)
    if description.state.name != "STABLE":
        return {}
    return {
        member.client_id: {tp.partition for tp in member.assignment.topic_partitions}
        for member in description.members
    }


async def _two_owners(admin: AdminClient, group: str, timeout_s: float) -> dict[str, set[int]]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        members = await asyncio.to_thread(_members, admin, group)
        if len(members) == 2 and all(members.values()):
            return members
        await asyncio.sleep(0.25)
    raise AssertionError(f"the two replicas did not split the partitions within {timeout_s} s")


async def test_a_replica_killed_mid_stream_loses_none_of_its_in_flight_events(
    stack: Endpoints, admin: AdminClient, registry: SchemaRegistryClient
) -> None:
    source, output = topics(admin, "failover", partitions=6)
    name = unique_name("failover")
    first, second = _replica(name, source, output), _replica(name, source, output)
    serde = Serde(registry)
    events = [Ping(id=f"e{i}", key=f"k{i % KEYS}", seq=i // KEYS) for i in range(EVENTS)]
    tail = _Tail(stack.bootstrap_servers, serde, output, {e.id for e in events})
    published: list[str] = []
    killed_at: float | None = None
    published_at_kill: set[str] = set()
    seen_at_kill: set[str] = set()
    try:
        members = await _two_owners(admin, name, timeout_s=30)
        [killed_partitions] = [p for c, p in members.items() if f":{first.pid}:" in c]
        async with Publisher("tests") as publisher:
            for start in range(0, EVENTS, CHUNK):
                chunk = events[start : start + CHUNK]
                await publisher.publish_many(source, [(e.key, e) for e in chunk])
                published += [e.id for e in chunk]
                by_first = sum(p.handled_by == str(first.pid) for _, p in list(tail.seen))
                if first.poll() is None and len(published) >= EVENTS // 3 and by_first >= 50:
                    first.send_signal(signal.SIGKILL)  # mid-stream, with work in flight
                    killed_at = time.monotonic()
                    published_at_kill, seen_at_kill = set(published), tail.ids()
                await asyncio.sleep(0.1)
        assert killed_at is not None, "the stream ended before the first replica was killed"
        assert first.wait(10) == -signal.SIGKILL
        await asyncio.to_thread(tail.covered.wait, 40)
        await asyncio.sleep(1.0)  # late duplicates, if any, to count them
    finally:
        tail.close()
        for process in (first, second):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(30)

    partition_of = {
        r.event.id: r.message.partition() for r in await read_events(serde, source, Ping, EVENTS)
    }
    outputs = Counter(pong.id for _, pong in tail.seen)
    missing = sorted(set(published) - set(outputs), key=lambda i: int(i[1:]))
    # Published to the killed replica's partitions before the kill, no output yet: in flight.
    in_flight = {
        i for i in published_at_kill - seen_at_kill if partition_of[i] in killed_partitions
    }
    duplicates = sum(n - 1 for n in outputs.values())
    by_survivor = {pong.id for _, pong in tail.seen if pong.handled_by == str(second.pid)}
    print(
        f"\nkilled replica owned partitions {sorted(killed_partitions)}; at the kill "
        f"{len(published_at_kill)} published, {len(in_flight)} of its events without output "
        f"({len(in_flight & by_survivor)} of them later handled by the survivor); "
        f"{len(outputs)} distinct outputs, {duplicates} duplicate(s)"
    )
    assert len(published) == EVENTS
    assert not missing, f"{len(missing)} event(s) never handled: {missing[:20]}"
    assert len(in_flight) >= 16, f"only {len(in_flight)} event(s) were in flight at the kill"
    assert in_flight <= set(outputs)  # the point of the test, said once more
    late = {pong.handled_by for at, pong in tail.seen if at > killed_at + 1.0}
    assert late == {str(second.pid)}  # the survivor did it: the dead replica wrote nothing
