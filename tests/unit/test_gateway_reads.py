"""The gateway's reads of Kafka: none waits out a batch timeout while records are there, and a
task's result is read once however many of its streams ask at the same time.

librdkafka's `consume(n, timeout)` returns only when n records are queued or the timeout is
over, so a read that asks for a batch adds the timeout to every record of a quiet topic. The
fake consumer below keeps that rule and counts the time such a call would have waited while
records were already there (nothing is timed: the count is the assertion).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from confluent_kafka import TopicPartition

from hivebus.durable import RunJournal
from hivebus.gateway import catchup, follower, outputs, service
from hivebus.gateway.catalog import Snapshot
from hivebus.gateway.records import TaskRecord
from hivebus.gateway.service import Gateway, Settings
from hivebus.kafka import records as kafka_records

TOPIC = "journal"


@dataclass
class Message:
    partition_: int
    offset_: int
    key_: bytes | None = None
    value_: bytes | None = b"v"
    headers_: list[tuple[str, bytes]] = field(default_factory=list)
    topic_: str = TOPIC

    def topic(self) -> str:
        return self.topic_

    def partition(self) -> int:
        return self.partition_

    def offset(self) -> int:
        return self.offset_

    def key(self) -> bytes | None:
        return self.key_

    def value(self) -> bytes | None:
        return self.value_

    def headers(self) -> list[tuple[str, bytes]]:
        return self.headers_

    def error(self) -> None:
        return None

    def timestamp(self) -> tuple[int, int]:
        return (1, 0)


class LikeLibrdkafka:
    """A consumer of queued records that returns as librdkafka does: `poll(t)` at once when a
    record is queued, `consume(n, t)` at once only when n are. `waited_s` adds up the timeouts
    a call would have waited out although records were queued; a call that finds nothing
    sleeps a little, so a reading thread does not spin."""

    def __init__(self, records: Iterable[Message]) -> None:
        self.queue = deque(records)
        self.waited_s = 0.0
        self.calls: list[tuple[Any, ...]] = []
        self.next: dict[tuple[str, int], int] = {}

    def poll(self, timeout: float = -1) -> Message | None:
        self.calls.append(("poll", timeout))
        if self.queue:
            return self._take()
        time.sleep(min(timeout, 0.005))
        return None

    def consume(self, num_messages: int = 1, timeout: float = -1) -> list[Message]:
        self.calls.append(("consume", num_messages, timeout))
        if len(self.queue) < num_messages:
            if self.queue:
                self.waited_s += timeout
            else:
                time.sleep(min(timeout, 0.005))
        return [self._take() for _ in range(min(num_messages, len(self.queue)))]

    def _take(self) -> Message:
        message = self.queue.popleft()
        self.next[(message.topic(), message.partition())] = message.offset() + 1
        return message

    def get_watermark_offsets(self, tp: TopicPartition, timeout: float = -1) -> tuple[int, int]:
        high = [m.offset() + 1 for m in self.queue if m.partition() == tp.partition]
        return 0, max(high, default=0)

    def offsets_for_times(self, tps: list[TopicPartition], timeout: float = -1) -> list[Any]:
        return [TopicPartition(tp.topic, tp.partition, 0) for tp in tps]

    def assign(self, tps: list[TopicPartition]) -> None:
        for tp in tps:
            self.next.setdefault((tp.topic, tp.partition), tp.offset)

    def position(self, tps: list[TopicPartition]) -> list[TopicPartition]:
        return [
            TopicPartition(tp.topic, tp.partition, self.next.get((tp.topic, tp.partition), -1001))
            for tp in tps
        ]

    def unassign(self) -> None:
        pass

    def close(self) -> None:
        pass


def consumer_of(monkeypatch: pytest.MonkeyPatch, module: Any, fake: LikeLibrdkafka) -> None:
    monkeypatch.setattr(module, "Consumer", lambda config: fake)


# ---- reading without waiting out a batch ----


def test_next_batch_waits_for_the_first_record_only_then_takes_what_is_queued() -> None:
    fake = LikeLibrdkafka([Message(0, 0), Message(0, 1), Message(0, 2)])
    batch = kafka_records.next_batch(fake, 500, 0.2)  # type: ignore[arg-type]
    assert [m.offset() for m in batch] == [0, 1, 2]
    assert fake.calls == [("poll", 0.2), ("consume", 499, 0)]
    assert fake.waited_s == 0


def test_next_batch_of_nothing_waits_in_poll_and_of_one_asks_for_no_more() -> None:
    nothing = LikeLibrdkafka([])
    assert kafka_records.next_batch(nothing, 500, 0.01) == []  # type: ignore[arg-type]
    assert nothing.calls == [("poll", 0.01)]
    one = LikeLibrdkafka([Message(0, 0), Message(0, 1)])
    assert [m.offset() for m in kafka_records.next_batch(one, 1, 0.2)] == [0]  # type: ignore[arg-type]
    assert one.calls == [("poll", 0.2)]


async def test_the_follower_hands_over_a_lone_record_without_waiting_out_a_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = LikeLibrdkafka([Message(0, 0, b"t1")])
    consumer_of(monkeypatch, follower, fake)
    handed: list[tuple[int, int, bytes | None]] = []
    arrived = asyncio.Event()

    def deliver(records: list[tuple[int, int, bytes | None]]) -> None:
        handed.extend(records)
        arrived.set()

    reader = follower.Follower(TOPIC, 1, deliver, lambda m: m.value(), from_end=False)
    reader.start()
    try:
        await asyncio.wait_for(arrived.wait(), 10)
    finally:
        reader.stop()
        await asyncio.to_thread(reader._thread.join, 10)
    assert handed == [(0, 0, b"v")]
    assert reader.position(0) == 1
    assert fake.waited_s == 0


def test_the_result_read_takes_a_lone_output_without_waiting_out_a_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mine = [("ce_id", b"e1"), ("ce_runid", b"t1")]
    records = [
        Message(0, 0, headers_=[("ce_id", b"e0"), ("ce_runid", b"other")], topic_="out"),
        Message(0, 1, headers_=mine, topic_="out"),
        Message(0, 2, headers_=[("ce_id", b"call:1"), ("ce_runid", b"t1")], topic_="out"),
    ]
    fake = LikeLibrdkafka(records)
    consumer_of(monkeypatch, outputs, fake)
    serde = SimpleNamespace(decode_any=lambda value: (SimpleNamespace(fullname="x.Out"), {"n": 1}))
    found = outputs.find_outputs(serde, {"out": 1}, "t1", 10**12)  # type: ignore[arg-type]
    assert [(o["offset"], o["type"], o["value"]) for o in found] == [(1, "x.Out", {"n": 1})]
    assert fake.waited_s == 0


def test_the_catch_up_read_takes_the_newest_version_without_waiting_out_a_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    records = [Message(0, 0, b"t1", b"a"), Message(0, 1, b"t2", b"b"), Message(0, 2, b"t1", b"c")]
    fake = LikeLibrdkafka(records)
    consumer_of(monkeypatch, catchup, fake)
    assert catchup.newest(TOPIC, 0, "t1", 10**12, 3) == (2, b"c")
    assert fake.waited_s == 0


# ---- a task's result: one read for every stream that asks at once ----

TASK = TaskRecord(
    task_id="t1", agent="scout", topic="leads", type="x.Lead", submitted_at="2026-01-01T00:00:00Z"
)
JOURNAL = RunJournal(
    run_id="t1",
    agent="scout",
    state="completed",
    topic="leads",
    offset=0,
    started_at="2026-01-01T00:00:00.000Z",
    updated_at="2026-01-01T00:00:05.000Z",
)
RESULT = [{"topic": "out", "partition": 0, "offset": 7, "type": "x.Out", "value": {"n": 1}}]


class CountingReads:
    """`find_outputs` that counts its calls, fails the first `failing` of them, and takes a
    little while, so that every ask comes while the first read is under way."""

    def __init__(self, failing: int = 0) -> None:
        self.calls, self.failing = 0, failing
        self._lock = threading.Lock()

    def __call__(self, serde: Any, topics: dict[str, int], run_id: str, completed_ms: int) -> Any:
        with self._lock:
            self.calls += 1
            failed = self.calls <= self.failing
        time.sleep(0.05)
        if failed:
            raise TimeoutError("reading the outputs took too long")
        assert (topics, run_id) == ({"out": 1}, "t1")
        return RESULT


def offline_gateway(monkeypatch: pytest.MonkeyPatch, reads: CountingReads) -> Gateway:
    gateway = Gateway(Settings(keys_file=None, cors_origins=()))
    snapshot = Snapshot(
        agents={"scout": SimpleNamespace(latest=SimpleNamespace(outputs=["out"]))},  # type: ignore[dict-item]
        partitions={"out": 1},
    )

    async def knowing(agent: str | None = None, topic: str | None = None) -> Snapshot:
        return snapshot

    monkeypatch.setattr(gateway.catalog, "knowing", knowing)
    monkeypatch.setattr(service, "find_outputs", reads)
    return gateway


async def test_fifty_streams_asking_at_once_for_one_result_cause_one_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reads = CountingReads()
    gateway = offline_gateway(monkeypatch, reads)
    answers = await asyncio.gather(*(gateway.results(TASK, JOURNAL) for _ in range(50)))
    assert reads.calls == 1
    assert answers == [RESULT] * 50
    assert await gateway.results(TASK, JOURNAL) == RESULT  # kept
    assert reads.calls == 1


async def test_a_failed_read_answers_everyone_waiting_and_the_next_ask_reads_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reads = CountingReads(failing=1)
    gateway = offline_gateway(monkeypatch, reads)
    answers = await asyncio.gather(*(gateway.results(TASK, JOURNAL) for _ in range(5)))
    assert (reads.calls, answers) == (1, [[]] * 5)  # shown without the result
    assert await gateway.results(TASK, JOURNAL) == RESULT
    assert reads.calls == 2


async def test_a_stream_that_goes_away_does_not_cancel_the_read_others_wait_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reads = CountingReads()
    gateway = offline_gateway(monkeypatch, reads)
    leaving = asyncio.create_task(gateway.results(TASK, JOURNAL))
    staying = asyncio.create_task(gateway.results(TASK, JOURNAL))
    await asyncio.sleep(0)  # both are waiting on the read
    leaving.cancel()
    assert await staying == RESULT
    assert reads.calls == 1
