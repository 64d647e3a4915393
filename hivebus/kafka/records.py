"""The typed face of a consumed record.

confluent-kafka types every `Message` accessor as optional, because a message being produced
has no offset yet. A consumed record always has its topic, partition and offset, so the
transport casts each batch once to this protocol (no runtime cost) and the layers above stay
precise without checks on the hot path. `next_batch` is the one read of a batch that every
reader shares: it waits for the first record, never for a full batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, cast

from confluent_kafka import Consumer, KafkaError, Message

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
