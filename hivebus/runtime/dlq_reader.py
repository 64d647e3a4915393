"""Reading and replaying an agent's dead letters.

Replay sends each dead letter back to its source topic with its original key, value and
headers (the `hivebus_error_*` ones removed), then commits the replay group's offset on the
dead-letter topic, so running replay twice does not send the same record twice.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

from hivebus.errors import HivebusError
from hivebus.kafka.config import producer_config
from hivebus.kafka.connection import connection_settings
from hivebus.kafka.records import Consumed, one
from hivebus.runtime.deadletter import dlq_topic, strip_error_headers


@dataclass(frozen=True)
class DeadLetter:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]
    error: dict[str, str]


def replay_group(agent: str) -> str:
    return f"hivebus-dlq-replay.{agent}"


def read_dead_letters(
    agent: str, *, unreplayed_only: bool, timeout_s: float = 10.0
) -> Iterator[DeadLetter]:
    """Every dead letter of `agent` up to the current end (or only those not yet replayed)."""
    group = replay_group(agent) if unreplayed_only else f"hivebus-dlq-list-{uuid.uuid4().hex[:8]}"
    consumer = _consumer(group)
    try:
        yield from (_dead_letter(m) for m in _read_to_end(consumer, dlq_topic(agent), timeout_s))
    finally:
        consumer.close()


def replay(agent: str, *, dry_run: bool = False, timeout_s: float = 10.0) -> list[DeadLetter]:
    """Send the not-yet-replayed dead letters back to their source topics."""
    consumer = _consumer(replay_group(agent))
    producer = Producer(producer_config(f"hivebus-dlq-replay-{agent}"))
    replayed: list[DeadLetter] = []
    last: dict[int, int] = {}
    try:
        for message in _read_to_end(consumer, dlq_topic(agent), timeout_s):
            letter = _dead_letter(message)
            replayed.append(letter)
            last[letter.partition] = letter.offset
            if not dry_run:
                value = letter.value
                if value is None and "value_dropped" in letter.error:
                    value = _source_value(letter, timeout_s)  # too large to dead-letter whole
                producer.produce(
                    letter.error["topic"], value, key=letter.key, headers=list(letter.headers)
                )
        if not dry_run:
            if producer.flush(30) != 0:
                raise RuntimeError("replayed records were not acknowledged within 30 s")
            commits = [TopicPartition(dlq_topic(agent), p, o + 1) for p, o in last.items()]
            if commits:
                consumer.commit(offsets=commits, asynchronous=False)
    finally:
        consumer.close()
    return replayed


def _source_value(letter: DeadLetter, timeout_s: float) -> bytes:
    """The original value of a dead letter written without it, read back from its source."""
    topic, number = letter.error["topic"], int(letter.error["partition"])
    offset = int(letter.error["offset"])
    consumer = _consumer(f"hivebus-dlq-source-{uuid.uuid4().hex[:8]}")
    try:
        consumer.assign([TopicPartition(topic, number, offset)])
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None and message.offset() == offset:
                return message.value() or b""
    finally:
        consumer.close()
    raise HivebusError(
        f"the dead letter of {topic}[{number}]@{offset} was written without its value, and "
        "the source record can no longer be read (retention?): it cannot be replayed"
    )


_COORDINATOR_MOVING = (
    KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
)  # fmt: skip
_COORDINATOR_WAIT_S = 15.0  # a coordinator loading its partitions after a restart, here


def _consumer(group: str) -> Consumer:
    return Consumer({
        **connection_settings("consumer"),
        "group.id": group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    })  # fmt: skip


def _committed(
    consumer: Consumer, partitions: list[TopicPartition], timeout_s: float
) -> list[TopicPartition]:
    """The group's committed offsets, asked again while the group coordinator is moving or
    loading (right after a broker restart, say). That passes by itself, so it is waited out
    for at least `_COORDINATOR_WAIT_S` even under a shorter `timeout_s`, each ask bounded by
    what is left (one ask must not spend the whole budget)."""
    deadline = time.monotonic() + max(timeout_s, _COORDINATOR_WAIT_S)
    while True:
        left = max(0.5, min(timeout_s, deadline - time.monotonic()))
        try:
            return list(consumer.committed(partitions, timeout=left))
        except KafkaException as error:
            code = error.args[0].code() if error.args else None
            if code not in _COORDINATOR_MOVING or time.monotonic() > deadline:
                raise
        time.sleep(0.2)


def _read_to_end(consumer: Consumer, topic: str, timeout_s: float) -> Iterator[Consumed]:
    metadata = consumer.list_topics(topic, timeout=timeout_s).topics.get(topic)
    if metadata is None or metadata.error is not None:
        return
    partitions = [TopicPartition(topic, p) for p in metadata.partitions]
    committed = {tp.partition: tp.offset for tp in _committed(consumer, partitions, timeout_s)}
    ends = {}
    for tp in partitions:
        low, high = consumer.get_watermark_offsets(tp, timeout=timeout_s)
        start = committed.get(tp.partition, -1)
        start = low if start < 0 else start
        if high > start:
            ends[tp.partition] = high
            tp.offset = start
    consumer.assign([tp for tp in partitions if tp.partition in ends])
    while ends:
        polled = consumer.poll(timeout_s)
        if polled is None:
            return
        message = one(polled)
        if message.error() is not None:
            continue
        if message.offset() + 1 >= ends.get(message.partition(), 0):
            ends.pop(message.partition(), None)
        yield message


def _dead_letter(message: Consumed) -> DeadLetter:
    original, error = strip_error_headers(message.headers())
    return DeadLetter(
        message.partition(), message.offset(), message.key(), message.value(), original, error
    )
