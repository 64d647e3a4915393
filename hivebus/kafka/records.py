"""The typed face of a consumed record.

confluent-kafka types every `Message` accessor as optional, because a message being produced
has no offset yet. A consumed record always has its topic, partition and offset, so the
transport casts each batch once to this protocol (no runtime cost) and the layers above stay
precise without checks on the hot path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, cast

from confluent_kafka import KafkaError, Message

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
