"""The typed face of a consumed record.

confluent-kafka types every `Message` accessor as optional, because a message being produced
has no offset yet. A consumed record always has its topic, partition and offset, so the
transport casts each batch once to this protocol (no runtime cost) and the layers above stay
precise without checks on the hot path. `next_batch` is the one read of a batch that every
reader shares: it waits for the first record, never for a full batch.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Protocol, cast

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

Headers = list[tuple[str, bytes]]


class Consumed(Protocol):
    def topic(self) -> str: ...
    def partition(self) -> int: ...
    def offset(self) -> int: ...
    def key(self) -> bytes | None: ...
    def value(self) -> bytes | None: ...
    def headers(self) -> Headers | None: ...
    def error(self) -> KafkaError | None: ...
    def timestamp(self) -> tuple[int, int]: ...


def consumed(messages: Sequence[Message]) -> list[Consumed]:
    return cast(list[Consumed], messages)


def one(message: Message) -> Consumed:
    return cast(Consumed, message)


def next_batch(consumer: Consumer, size: int, timeout_s: float) -> list[Consumed]:
    """Up to `size` records: waits up to `timeout_s` for the first only, then takes what is
    already fetched. `consume(size, timeout)` alone returns only once `size` records are
    there or the timeout is over, so on a quiet topic it adds the timeout to every record."""
    first = consumer.poll(timeout_s)
    if first is None:
        return []
    if size <= 1:
        return [one(first)]
    return consumed([first, *consumer.consume(size - 1, 0)])


# A partition with no leader yet: a broker just (re)started, or a topic just created.
_LEADERLESS = (KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE,
               KafkaError.UNKNOWN_TOPIC_OR_PART)  # fmt: skip


def watermarks(consumer: Consumer, partition: TopicPartition, timeout_s: float) -> tuple[int, int]:
    """The partition's (low, high) watermarks, asked again while it has no leader yet, for up
    to `timeout_s`; any other error is raised at once."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            low, high = consumer.get_watermark_offsets(partition, timeout=timeout_s)
            return int(low), int(high)
        except KafkaException as error:
            code = error.args[0].code() if error.args else None
            if code not in _LEADERLESS or time.monotonic() > deadline:
                raise
        time.sleep(0.2)
