"""The event that started a run, rebuilt from its run request: what `ctx.message` shows."""

from __future__ import annotations

from confluent_kafka import TIMESTAMP_NOT_AVAILABLE, KafkaError

from hivebus.durable.records import RunRequest
from hivebus.kafka.records import Headers


class StartingEvent:
    """The Kafka record a run was started for (the `Consumed` protocol, read-only)."""

    __slots__ = ("_request",)

    def __init__(self, request: RunRequest) -> None:
        self._request = request

    def topic(self) -> str:
        return self._request.topic

    def partition(self) -> int:
        return self._request.partition

    def offset(self) -> int:
        return self._request.offset

    def key(self) -> bytes | None:
        return self._request.key

    def value(self) -> bytes | None:
        return self._request.value

    def headers(self) -> Headers | None:
        return list(self._request.headers.items()) or None

    def error(self) -> KafkaError | None:
        return None

    def timestamp(self) -> tuple[int, int]:
        return (TIMESTAMP_NOT_AVAILABLE, 0)
