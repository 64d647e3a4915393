"""Filling an `AuditStore` from Kafka: the audit and blob topics read to their ends.

Any machine with access to the cluster rebuilds the projections this way; a store kept in a
file remembers where it stopped and reads only what came since. Records are read
`read_committed` (an exactly-once agent's audit counts only once its transaction does), and
each with the audit's own reader schema, so events written with an older or a newer version
of the contract both project.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from typing import Any

from confluent_kafka import Consumer, KafkaError, TopicPartition

from hivebus.audit.expand import events_of
from hivebus.audit.records import AuditBatch, AuditBlob, AuditEvent
from hivebus.audit.settings import AuditSettings
from hivebus.audit.store import AuditStore
from hivebus.contracts import Serde, UndecodableRecord
from hivebus.kafka.connection import connection_settings

log = logging.getLogger("hivebus.audit")
BATCH = 500


def restore(
    store: AuditStore, serde: Serde, settings: AuditSettings | None = None,
    timeout_s: float = 120.0,
) -> int:  # fmt: skip
    """Read what is new on the audit topics into `store`; how many audit events were added."""
    settings = settings or AuditSettings.from_env()
    read_topic(store, serde, settings.blob_topic, AuditBlob, timeout_s)
    return read_topic(store, serde, settings.topic, AuditBatch, timeout_s)


def read_topic(
    store: AuditStore, serde: Serde, topic: str, model: type[AuditBatch] | type[AuditBlob],
    timeout_s: float,
) -> int:  # fmt: skip
    """Every partition of `topic` from the store's position to the end it had when we looked."""
    consumer = Consumer({
        **connection_settings("consumer"),
        "group.id": f"hivebus-history-{uuid.uuid4().hex[:8]}",
        "enable.auto.commit": False,
        "isolation.level": "read_committed",
        "fetch.wait.max.ms": 10,
    })  # fmt: skip
    added = 0
    try:
        metadata = consumer.list_topics(topic, timeout=10).topics.get(topic)
        if metadata is None or metadata.error is not None or not metadata.partitions:
            return 0
        start = store.positions(topic)
        ends: dict[int, int] = {}
        assigned = []
        for partition in sorted(metadata.partitions):
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), 10)
            begin = max(start.get(partition, 0), low)
            if begin < high:
                ends[partition] = high
                assigned.append(TopicPartition(topic, partition, begin))
        if not assigned:
            return 0
        consumer.assign(assigned)
        next_offsets = {tp.partition: tp.offset for tp in assigned}
        deadline = time.monotonic() + timeout_s
        while ends:
            messages = consumer.consume(BATCH, timeout=0.5)
            added += _take(store, serde, topic, model, messages, next_offsets)
            for tp in consumer.position([TopicPartition(topic, p) for p in list(ends)]):
                if tp.offset >= ends[tp.partition]:  # (past aborted and control records too)
                    next_offsets[tp.partition] = max(next_offsets[tp.partition], tp.offset)
                    del ends[tp.partition]
            if ends and time.monotonic() > deadline:
                raise TimeoutError(f"reading {topic} took longer than {timeout_s:g} s")
        store.advance(topic, next_offsets)
    finally:
        consumer.close()
    return added


def _take(
    store: AuditStore, serde: Serde, topic: str, model: type[AuditBatch] | type[AuditBlob],
    messages: Sequence[Any], next_offsets: dict[int, int],
) -> int:  # fmt: skip
    events: list[AuditEvent] = []
    blobs: list[AuditBlob] = []
    for message in messages:
        error = message.error()
        if error is not None:
            if error.code() != KafkaError._PARTITION_EOF:
                log.warning("reading %s: %s", topic, error.str())
            continue
        partition, offset = message.partition(), message.offset()
        next_offsets[partition] = offset + 1
        value = message.value()
        if not value:
            continue
        try:
            serde.writer(value)  # the writer schema, fetched once per schema id
            if model is AuditBlob:
                blobs.append(serde.decode(value, AuditBlob))
            else:
                events += events_of(serde.decode(value, AuditBatch))
        except (UndecodableRecord, ValueError) as problem:
            log.warning("%s[%d]@%d is not an audit record: %s", topic, partition, offset, problem)
    if blobs:
        store.add_blobs(blobs)
    return store.add(events) if events else 0
