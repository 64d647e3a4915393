"""The event that started a run, rebuilt from its journal: what `ctx.message` shows."""

from __future__ import annotations

from confluent_kafka import TIMESTAMP_NOT_AVAILABLE, KafkaError

from hivebus.durable.records import RunJournal
from hivebus.kafka.records import Headers


class StartingEvent:
    """The Kafka record a run was started for (the `Consumed` protocol, read-only)."""

    __slots__ = ("_journal",)

    def __init__(self, journal: RunJournal) -> None:
        self._journal = journal

    def topic(self) -> str:
        return self._journal.topic

    def partition(self) -> int:
        return self._journal.partition

    def offset(self) -> int:
        return self._journal.offset

    def key(self) -> bytes | None:
        return self._journal.input_key

    def value(self) -> bytes | None:
        return self._journal.input_value

    def headers(self) -> Headers | None:
        return list(self._journal.input_headers.items()) or None

    def error(self) -> KafkaError | None:
        return None

    def timestamp(self) -> tuple[int, int]:
        return (TIMESTAMP_NOT_AVAILABLE, 0)
