"""A process's replica of a read model: a thread that reads the model's whole compacted
changelog (every partition, from the start, `read_committed`) into the embedded store.

It is how any replica, of any agent, gets the model: restored from Kafka when it starts,
then kept up to date. `caught_up` holds once every partition has been read to its end;
`lag` (also a Prometheus gauge) is how far behind the changelog's end it is now. It is
started with the agents that read it and stopped with them; started again, a new thread
reads the changelog from its start again (the store keeps only newer versions).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid

from confluent_kafka import Consumer, KafkaError, TopicPartition
from prometheus_client import Gauge

from hivebus.contracts import Serde, registry_client
from hivebus.kafka.connection import connection_settings
from hivebus.patterns.readmodel.records import ViewEntry
from hivebus.patterns.readmodel.store import Store

LAG = Gauge("hivebus_read_model_lag", "Changelog records not yet in this replica", ["view"])
ENTRIES = Gauge("hivebus_read_model_entries", "Entities in this replica", ["view"])
log = logging.getLogger("hivebus.readmodel")


class Replica:
    def __init__(self, view: str, topic: str, store: Store) -> None:
        self.view, self.topic, self.store = view, topic, store
        self._stop = threading.Event()
        self._rounds = 0  # poll rounds done: a wait for freshness starts a new count
        self._at_end: dict[int, bool] = {}
        self._lag = 0
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.stale = True  # a projector must wait for `fresh()` before its next fold

    def start(self) -> None:
        with self._lock:
            if self.running:
                return  # following already (a thread that died is replaced)
            self._stop, self._at_end = threading.Event(), {}  # the old thread has its own
            self._thread = threading.Thread(
                target=self._run, args=(self._stop,), name=f"view-{self.view}", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    @property
    def running(self) -> bool:
        """Its thread follows the changelog (started, and not stopped or ended)."""
        thread = self._thread
        return thread is not None and thread.is_alive() and not self._stop.is_set()

    @property
    def lag(self) -> int:
        return self._lag

    @property
    def caught_up(self) -> bool:
        return bool(self._at_end) and all(self._at_end.values())

    async def fresh(self, timeout_s: float = 60.0) -> None:
        """Wait until the replica has read every partition to its end, in a poll round that
        began after this call: what was committed before it is in the store."""
        self.start()
        seen, deadline = self._rounds, time.monotonic() + timeout_s
        while not (self._rounds > seen + 1 and self.caught_up):
            if time.monotonic() > deadline:
                raise TimeoutError(f"read model {self.view!r} did not catch up with {self.topic} "
                                   f"within {timeout_s:g} s (lag {self._lag})")  # fmt: skip
            await asyncio.sleep(0.02)

    def _run(self, stop: threading.Event) -> None:
        serde = Serde(registry_client())
        consumer = Consumer({
            **connection_settings("consumer"), "group.id": f"view-{uuid.uuid4().hex}",
            "enable.auto.commit": False, "isolation.level": "read_committed",
            "enable.partition.eof": True, "auto.offset.reset": "earliest",
        })  # fmt: skip
        try:
            partitions = self._partitions(consumer, stop)
            consumer.assign([TopicPartition(self.topic, p, 0) for p in partitions])
            at_end = self._at_end = {p: False for p in partitions}
            last_lag = 0.0
            while not stop.is_set():
                for message in consumer.consume(500, timeout=0.05):
                    self._take(message, serde, at_end)
                self._rounds += 1
                if time.monotonic() - last_lag > 1.0:
                    self._measure(consumer, partitions)
                    last_lag = time.monotonic()
        except Exception:
            log.exception("the replica of read model %s stopped", self.view)
        finally:
            consumer.close()

    def _partitions(self, consumer: Consumer, stop: threading.Event) -> list[int]:
        while not stop.is_set():
            topic = consumer.list_topics(self.topic, timeout=10).topics.get(self.topic)
            if topic is not None and topic.error is None and topic.partitions:
                return sorted(topic.partitions)
            time.sleep(0.5)  # created by the projector's worker: not yet
        return []

    def _take(self, message: object, serde: Serde, at_end: dict[int, bool]) -> None:
        error = message.error()  # type: ignore[attr-defined]
        partition = message.partition()  # type: ignore[attr-defined]
        if error is not None:
            if error.code() == KafkaError._PARTITION_EOF:
                at_end[partition] = True
            return
        at_end[partition] = False
        value = message.value()  # type: ignore[attr-defined]
        if not value:
            return  # a tombstone: compaction's, never the projector's
        entry = serde.decode(value, ViewEntry)
        self.store.put(entry.key, entry.value, entry.version, entry.updated_at)

    def _measure(self, consumer: Consumer, partitions: list[int]) -> None:
        behind = 0
        for tp in consumer.position([TopicPartition(self.topic, p) for p in partitions]):
            high = consumer.get_watermark_offsets(tp, cached=True)
            if high is not None and tp.offset >= 0:
                behind += max(high[1] - tp.offset, 0)
        self._lag = 0 if self.caught_up else behind
        LAG.labels(self.view).set(self._lag)
        ENTRIES.labels(self.view).set(self.store.count())
