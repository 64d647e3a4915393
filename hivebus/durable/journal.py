"""The journals of the runs a worker holds: restored from Kafka, written back step by step.

A journal record is the run's whole journal so far, keyed by run id on a compacted topic, so
after compaction each run is one record and restoring a partition means reading it once and
keeping the newest record per key. A write is acknowledged before the run goes on: a step
that returned is never run again, whatever happens to the worker next. (The price: every
write repeats the earlier steps; large results are what values by reference will be for.)

Journals are restored per partition of the inbox, once per assignment of it (its
generation): a worker that held a partition before, lost it and got it back reads it again,
because another worker may have moved its runs on meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass, field

from confluent_kafka import Consumer, KafkaError, TopicPartition

from hivebus.contracts import Serde
from hivebus.durable.records import RunJournal
from hivebus.kafka.connection import connection_settings
from hivebus.kafka.producer import AsyncProducer
from hivebus.kafka.records import watermarks

RESTORE_TIMEOUT_S = 60.0


@dataclass
class _Partition:
    generation: int
    runs: dict[str, RunJournal] = field(default_factory=dict)


class JournalStore:
    def __init__(
        self, topic: str, *, serde: Serde, producer: AsyncProducer, log: logging.Logger
    ) -> None:
        self.topic = topic
        self._serde = serde
        self._producer = producer
        self._log = log
        self._partitions: dict[int, _Partition] = {}
        self._restoring: dict[int, asyncio.Task[_Partition]] = {}

    async def get(self, run_id: str, partition: int, generation: int) -> RunJournal | None:
        """The journal of `run_id` as the broker has it (None for a run not started yet)."""
        return (await self.held(partition, generation)).get(run_id)

    async def held(self, partition: int, generation: int) -> dict[str, RunJournal]:
        """Every run journal of `partition`, restored once per assignment `generation`."""
        held = self._partitions.get(partition)
        if held is None or held.generation != generation:
            held = await self._restore(partition, generation)
        return held.runs

    def remember(self, journal: RunJournal, partition: int) -> None:
        """A journal written another way (in an exactly-once transaction, by the outbox)."""
        held = self._partitions.get(partition)
        if held is not None:
            held.runs[journal.run_id] = journal

    def restored(self) -> dict[int, dict[str, RunJournal]]:
        """The journals of every partition restored so far (held now), by partition."""
        return {partition: held.runs for partition, held in self._partitions.items()}

    async def tombstone(self, run_id: str, partition: int) -> None:
        """Forget a run: a tombstone, so compaction removes its journal."""
        await self._producer.send(self.topic, None, key=run_id, partition=partition)
        held = self._partitions.get(partition)
        if held is not None:
            held.runs.pop(run_id, None)

    def forget(self, partition: int) -> None:
        """The partition is revoked: its journals are read again if it comes back."""
        self._partitions.pop(partition, None)

    async def write(self, journal: RunJournal, partition: int) -> None:
        """Write the run's journal and wait for the broker's acknowledgement."""
        encoder = await self._serde.encoder_async(self.topic, RunJournal)
        await self._producer.send(
            self.topic, encoder.encode(journal), key=journal.run_id, partition=partition
        )
        self.remember(journal, partition)

    async def _restore(self, partition: int, generation: int) -> _Partition:
        task = self._restoring.get(partition)
        if task is None or task.done():
            task = self._restoring[partition] = asyncio.create_task(
                asyncio.to_thread(self._read, partition, generation)
            )
        held = await task
        if held.generation == generation:
            self._partitions[partition] = held
            return held
        return await self._restore(partition, generation)  # a newer assignment asked

    def _read(self, partition: int, generation: int) -> _Partition:
        held = _Partition(generation, read_partition(self._serde, self.topic, partition))
        self._log.info(
            "restored %d run journal(s) from %s[%d]", len(held.runs), self.topic, partition
        )
        return held


def read_partition(serde: Serde, topic: str, partition: int) -> dict[str, RunJournal]:
    """The newest journal of every run in one partition, read from its start to its end
    (blocking). The end counts only past every record written before we looked: a
    transaction a dead worker left open holds read_committed back (at most its timeout), and
    what its records hide is what a restore must see."""
    consumer = Consumer({
        **connection_settings("consumer"),
        "group.id": f"hivebus-journal-reader-{uuid.uuid4().hex[:8]}",
        "enable.auto.commit": False,
        "enable.partition.eof": True,
        "isolation.level": "read_committed",
        "fetch.wait.max.ms": 10,  # reading to the end: an empty fetch should come back at once
    })  # fmt: skip
    runs: dict[str, RunJournal] = {}
    try:
        consumer.assign([TopicPartition(topic, partition, 0)])
        low, high = watermarks(consumer, TopicPartition(topic, partition), 10)
        if high <= low:
            return runs
        deadline = time.monotonic() + RESTORE_TIMEOUT_S
        while True:
            message = consumer.poll(1.0)
            error = message.error() if message is not None else None
            if message is None or error is not None:
                if error is not None and error.code() != KafkaError._PARTITION_EOF:
                    raise RuntimeError(f"reading {topic}[{partition}]: {error.str()}")
                [position] = consumer.position([TopicPartition(topic, partition)])
                if position.offset >= high:
                    return runs
                if time.monotonic() > deadline:
                    raise TimeoutError(f"reading {topic}[{partition}] took too long")
                continue
            key, value = (message.key() or b"").decode(), message.value()
            if value is None:  # a tombstone: the run is forgotten
                runs.pop(key, None)
            else:
                runs[key] = serde.decode(value, RunJournal)
    finally:
        consumer.close()
