"""Following a topic's partitions from the gateway: one consumer thread, in no group.

A gateway reads to serve its clients, not to do work, so it joins no consumer group (nothing
to rebalance, no group left behind per client) and commits nothing: the consumer is
assigned its partitions from explicit offsets. One follower serves every client that needs
the topic; records reach the event loop in batches, and `position(p)` there says up to
where everything of partition p has been handed over. Reads are `read_committed`, so
journal versions an exactly-once worker aborted are never shown.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Generic, TypeVar

from confluent_kafka import Consumer, KafkaError, TopicPartition

from hivebus.kafka.connection import connection_settings
from hivebus.kafka.records import Consumed, next_batch

T = TypeVar("T")
BATCH, POLL_S = 500, 0.2
log = logging.getLogger("hivebus.gateway.follower")


def reader_config(purpose: str) -> dict[str, object]:
    """A consumer that joins no group and commits nothing (the group id is never used)."""
    return {
        **connection_settings("consumer"),
        "group.id": f"hivebus-gateway-{purpose}-{uuid.uuid4().hex[:8]}",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "isolation.level": "read_committed",
        "auto.offset.reset": "earliest",  # an offset deleted meanwhile: the oldest left
        "fetch.wait.max.ms": 100,
    }


class FollowerFailed(RuntimeError):
    """The follower's consumer stopped: its readers end, and a new follower is made."""


class Follower(Generic[T]):
    """Reads `topic`'s partitions from their start (`from_end=False`) or from their end as
    it is when the follower starts, and hands `prepare(record)` of each, in order, to
    `deliver` on the loop. `prepare` runs on the consumer thread (decoding, say)."""

    def __init__(
        self,
        topic: str,
        partitions: int,
        deliver: Callable[[list[tuple[int, int, T]]], None],
        prepare: Callable[[Consumed], T],
        *,
        from_end: bool,
        failed: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.topic = topic
        self.partitions = partitions
        self._deliver, self._prepare, self._from_end = deliver, prepare, from_end
        self._failed = failed
        self.error: BaseException | None = None  # why the follower stopped, if it failed
        self._positions: dict[int, int] = {}
        self.started_ms = 0  # when the start offsets were taken (wall clock)
        self._ready = asyncio.Event()
        self._moved = asyncio.Event()
        self._stop = threading.Event()
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._run, name=f"follow-{topic}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    async def ready(self) -> None:
        """Until the start offsets are known (and so every `position`); FollowerFailed if
        the follower stopped instead."""
        await self._ready.wait()
        if self.error is not None:
            raise FollowerFailed(f"reading {self.topic} failed: {self.error}")

    def position(self, partition: int) -> int:
        """Everything of `partition` before this offset has been delivered."""
        return self._positions[partition]

    async def reach(self, partition: int, offset: int, timeout_s: float) -> bool:
        """Wait until `partition` is delivered up to `offset`; False past the timeout."""
        deadline = self._loop.time() + timeout_s
        try:
            await asyncio.wait_for(self.ready(), timeout_s)
        except TimeoutError:
            return False
        while self._positions[partition] < offset:
            self._moved.clear()
            left = deadline - self._loop.time()
            if left <= 0:
                return False
            try:
                await asyncio.wait_for(self._moved.wait(), left)
            except TimeoutError:
                return False
        return True

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        consumer = Consumer(reader_config("follow"))
        try:
            taken_ms = int(time.time() * 1000)
            starts = self._starts(consumer)
            self._loop.call_soon_threadsafe(self._started, starts, taken_ms)
            assigned = [TopicPartition(self.topic, p, o) for p, o in starts.items()]
            consumer.assign(assigned)
            reported = dict(starts)
            while not self._stop.is_set():
                records = []
                for message in next_batch(consumer, BATCH, POLL_S):
                    error = message.error()
                    if error is not None:
                        if error.code() != KafkaError._PARTITION_EOF:
                            log.warning("following %s: %s", self.topic, error.str())
                        continue
                    records.append((message.partition(), message.offset(), self._prepare(message)))
                # The position also passes what read_committed skips (transaction markers,
                # aborted records), which no record would show.
                positions = {
                    tp.partition: tp.offset for tp in consumer.position(assigned) if tp.offset >= 0
                }
                moved = {p: o for p, o in positions.items() if o > reported.get(p, -1)}
                if (records or moved) and not self._stop.is_set():
                    reported.update(moved)
                    self._loop.call_soon_threadsafe(self._handed, records, moved)
        except Exception as error:
            log.exception("the follower of %s stopped", self.topic)
            self._loop.call_soon_threadsafe(self._stopped, error)
        finally:
            consumer.close()

    def _starts(self, consumer: Consumer) -> dict[int, int]:
        """Explicit offsets, so every position is known before the first record comes."""
        starts = {}
        for partition in range(self.partitions):
            low, high = consumer.get_watermark_offsets(
                TopicPartition(self.topic, partition), timeout=10
            )
            starts[partition] = high if self._from_end else low
        return starts

    def _started(self, starts: dict[int, int], started_ms: int) -> None:
        self._positions = dict(starts)
        self.started_ms = started_ms
        self._ready.set()

    def _stopped(self, error: BaseException) -> None:
        self.error = error
        self._ready.set()  # whoever waits for the start hears of the failure
        if self._failed is not None:
            self._failed(error)

    def _handed(self, records: list[tuple[int, int, T]], positions: dict[int, int]) -> None:
        for partition, offset, _ in records:
            self._positions[partition] = max(self._positions[partition], offset + 1)
        for partition, offset in positions.items():
            self._positions[partition] = max(self._positions[partition], offset)
        self._deliver(records)
        self._moved.set()
