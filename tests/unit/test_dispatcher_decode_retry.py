"""A registry outage is retried with backoff; only a persistent one dead-letters the record."""

from __future__ import annotations

import asyncio
from typing import Any

from confluent_kafka import TopicPartition

from hivebus import Agent, Context, Retry
from hivebus.contracts import WriterSchema
from hivebus.runtime.dispatcher import Dispatcher
from tests.integration.runtime_contracts import Ping


class _Message:
    def __init__(self, offset: int) -> None:
        self._offset = offset

    def topic(self) -> str:
        return "in"

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return self._offset

    def key(self) -> bytes:
        return b"k"

    def value(self) -> bytes:
        return b"\x00\x00\x00\x00\x01payload"

    def headers(self) -> list[tuple[str, bytes]]:
        return []

    def error(self) -> None:
        return None


class _FlakyRegistrySerde:
    """Fails `writer` with a registry error `failures` times, then answers."""

    def __init__(self, failures: int) -> None:
        self.failures = failures

    def writer(self, value: bytes) -> WriterSchema:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("registry unreachable")
        return WriterSchema(1, Ping.fullname, None, "")

    def decode(self, value: bytes, reader: type[Any]) -> Any:
        return Ping(id="p", key="k", seq=0)


class _Producer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, list[tuple[str, bytes]]]] = []

    def produce(
        self, topic: str, value: bytes, *, key: Any, headers: Any, on_delivery: Any
    ) -> None:
        self.sent.append((topic, headers))
        asyncio.get_running_loop().call_soon(on_delivery, None, None)


class _Control:
    def pause(self, partitions: Any) -> None: ...
    def resume(self, partitions: Any) -> None: ...
    def commit(self, offsets: Any) -> None: ...


async def _dispatch(failures: int) -> tuple[list[str], _Producer, Dispatcher]:
    agent = Agent("decoder", retry=Retry(attempts=3, backoff_s=0.01))
    handled: list[str] = []

    @agent.on("in", Ping)
    def record(ping: Ping, ctx: Context) -> None:
        handled.append(ping.id)

    producer = _Producer()
    dispatcher = Dispatcher(
        agent, serde=_FlakyRegistrySerde(failures), producer=producer,  # type: ignore[arg-type]
        consumer=_Control(), llm_factory=lambda: None,  # type: ignore[arg-type, return-value]
    )  # fmt: skip
    await dispatcher.assign([TopicPartition("in", 0, 0)])
    dispatcher.on_batch([_Message(0)])  # type: ignore[list-item]
    for _ in range(50):
        await asyncio.sleep(0.01)
    return handled, producer, dispatcher


async def test_a_registry_outage_is_retried_and_the_record_then_handled() -> None:
    handled, producer, dispatcher = await _dispatch(failures=2)
    assert handled == ["p"]
    assert producer.sent == []  # nothing dead-lettered
    [committed] = dispatcher.committable()
    assert committed.offset == 1


async def test_a_persistent_outage_dead_letters_the_record_after_the_last_attempt() -> None:
    handled, producer, dispatcher = await _dispatch(failures=99)
    assert handled == []
    [(topic, headers)] = producer.sent
    assert topic == "hivebus.dlq.decoder"
    assert ("hivebus_error_kind", b"runtime") in headers
    assert ("hivebus_error_type", b"ConnectionError") in headers
    [committed] = dispatcher.committable()
    assert committed.offset == 1  # complete once the dead letter was acknowledged
