"""Every task, as `hivebus.tasks` has it: followed from its start by each gateway replica.

A replica learns of a task another replica accepted within milliseconds; for the moments in
between, `get` of an id it does not know yet waits until it has read its partition of the
topic up to where it ends now. The submitting replica answered 202 only after the broker
acknowledged the task record, so from then on every replica finds the task.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import threading

from confluent_kafka import Consumer, TopicPartition

from hivebus.contracts import Serde
from hivebus.gateway.follower import Follower, reader_config
from hivebus.gateway.records import TOPIC, TaskRecord
from hivebus.kafka.partitioning import partition_of
from hivebus.kafka.records import Consumed

CATCH_UP_S = 5.0
log = logging.getLogger("hivebus.gateway.tasks")


class TaskTable:
    def __init__(self, serde: Serde, partitions: int) -> None:
        self._serde = serde
        self._partitions = partitions
        self._tasks: dict[str, TaskRecord] = {}
        self._follower: Follower[tuple[str, TaskRecord | None]] = Follower(
            TOPIC, partitions, self._deliver, self._decode, from_end=False
        )
        self._ends = _Ends()

    def start(self) -> None:
        self._follower.start()

    def stop(self) -> None:
        self._follower.stop()
        self._ends.close()

    def remember(self, task: TaskRecord) -> None:
        """A task this replica just wrote (its record comes back through the follower too)."""
        self._tasks[task.task_id] = task

    def recent(self, limit: int) -> list[TaskRecord]:
        """The `limit` newest tasks known here, newest first (what a dashboard lists)."""
        return heapq.nlargest(limit, self._tasks.values(), key=lambda task: task.submitted_at)

    async def get(self, task_id: str) -> TaskRecord | None:
        """The task, or None when `hivebus.tasks` has no such task."""
        if (found := self._tasks.get(task_id)) is not None:
            return found
        partition = partition_of(task_id.encode(), self._partitions)
        end = await asyncio.to_thread(self._ends.end, partition)
        await self._follower.reach(partition, end, CATCH_UP_S)
        return self._tasks.get(task_id)

    def _decode(self, message: Consumed) -> tuple[str, TaskRecord | None]:
        key, value = (message.key() or b"").decode(errors="replace"), message.value()
        if value is None:
            return key, None  # a tombstone: the task is forgotten
        try:
            return key, self._serde.decode(value, TaskRecord)
        except Exception as error:  # one bad record must not stop the table
            log.warning(
                "skipped %s[%d]@%d: %s", TOPIC, message.partition(), message.offset(), error
            )
            return key, None

    def _deliver(self, records: list[tuple[int, int, tuple[str, TaskRecord | None]]]) -> None:
        for _, _, (key, task) in records:
            if task is None:
                self._tasks.pop(key, None)
            else:
                self._tasks[key] = task


class _Ends:
    """The end offsets of `hivebus.tasks` partitions, from one long-lived consumer."""

    def __init__(self) -> None:
        self._consumer: Consumer | None = None
        self._lock = threading.Lock()

    def end(self, partition: int) -> int:
        with self._lock:
            if self._consumer is None:
                self._consumer = Consumer(reader_config("ends"))
            _, high = self._consumer.get_watermark_offsets(
                TopicPartition(TOPIC, partition), timeout=10
            )
            return int(high)

    def close(self) -> None:
        with self._lock:
            if self._consumer is not None:
                self._consumer.close()
                self._consumer = None
