"""Reading a topic in a test: every event from the beginning, decoded, with its metadata."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Message, TopicPartition

from hivebus.contracts import EventMeta, Record, Serde, parse_headers
from hivebus.kafka.connection import connection_settings

R = TypeVar("R", bound=Record)


@dataclass(frozen=True)
class Received(Generic[R]):
    event: R
    meta: EventMeta | None
    key: str | None
    message: Message


Until = Callable[[list[Received[R]]], bool]


async def read_events(
    serde: Serde,
    topic: str,
    model: type[R],
    count: int,
    timeout_s: float = 60.0,
    until: Until[R] | None = None,
    *,
    committed_only: bool = False,
    grouped: bool = True,
) -> list[Received[R]]:
    """Read `model` events from `topic`'s start until `count` (and `until(events)`, if given).

    `committed_only` reads as `read_committed` (records of aborted or open transactions are
    never seen). `grouped=False` reads the topic's partitions by assignment, with no
    consumer group, so no group coordinator is needed (just after a broker outage, a new
    group may not be able to join for a long time); the topic must exist. Returns what was
    read when the timeout passes; callers assert on it.
    """
    return await asyncio.to_thread(
        _read, serde, topic, model, count, timeout_s, until, committed_only, grouped
    )


def _read(
    serde: Serde, topic: str, model: type[R], count: int, timeout_s: float,
    until: Until[R] | None, committed_only: bool, grouped: bool,
) -> list[Received[R]]:  # fmt: skip
    consumer = Consumer({
        **connection_settings("consumer"),
        "isolation.level": "read_committed" if committed_only else "read_uncommitted",
        "group.id": f"hivebus-test-reader-{uuid.uuid4().hex[:8]}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "topic.metadata.refresh.interval.ms": 1000,
    })  # fmt: skip
    deadline = time.monotonic() + timeout_s
    got: list[Received[R]] = []
    try:
        if grouped:
            consumer.subscribe([topic])
        else:
            _assign_all(consumer, topic, deadline)
        while time.monotonic() < deadline:
            if len(got) >= count and (until is None or until(got)):
                break
            message = consumer.poll(0.2)
            if message is None or message.error() is not None:
                continue
            key, value = message.key(), message.value() or b""
            if serde.writer(value).fullname != model.fullname:
                continue  # another event type on a multi-type topic
            event = serde.decode(value, model)
            got.append(
                Received(
                    event,
                    parse_headers(message.headers()),
                    key.decode(errors="replace") if key else None,
                    message,
                )
            )
    finally:
        consumer.close()
    return got


def _assign_all(consumer: Consumer, topic: str, deadline: float) -> None:
    """Assign every partition of `topic` from its beginning, once its metadata answers."""
    while True:
        try:
            found = consumer.list_topics(topic, timeout=5).topics.get(topic)
        except KafkaException:
            found = None
        if found is not None and found.error is None and found.partitions:
            break
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{topic} has no partitions to read")
        time.sleep(0.2)
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in found.partitions])
