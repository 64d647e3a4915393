"""An asyncio face for confluent-kafka's Producer, polled on the event loop itself.

Delivery reports are served by `poll(0)` on the loop thread, on a short timer while records
are in flight, so their callbacks run where the rest of the runtime lives. A background poll
thread would take the GIL for every single report (confluent-kafka enters Python once per
callback) and ping-pong it with the loop; measured here, that cost more than the Avro work.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from hivebus.errors import ConfigError, HivebusError

Headers = Sequence[tuple[str, bytes | str]]
DeliveryCallback = Callable[[KafkaError | None, Message], None]
POLL_INTERVAL_S = 0.002


class DeliveryError(HivebusError):
    def __init__(self, error: KafkaError) -> None:
        super().__init__(f"delivery failed: {error.str()}")
        self.error = error


class AsyncProducer:
    def __init__(
        self,
        config: dict[str, Any],
        loop: asyncio.AbstractEventLoop,
        *,
        poll_interval_s: float = POLL_INTERVAL_S,
    ) -> None:
        """`poll_interval_s`: how soon after a produce its report may be served; shorter for a
        producer whose every record is waited on (a durable run's journal), at the cost of
        more wake-ups of the loop while records are in flight."""
        try:
            self._producer = Producer(config)
        except KafkaException as error:
            raise ConfigError(f"invalid producer configuration: {error}") from None
        self._loop = loop
        self._interval = poll_interval_s
        self._timer: asyncio.TimerHandle | None = None

    def produce(
        self,
        topic: str,
        value: bytes | None,
        *,
        key: str | bytes | None = None,
        headers: Headers | None = None,
        on_delivery: DeliveryCallback,
        partition: int | None = None,
    ) -> None:
        """Queue a record; `on_delivery` runs on the event loop once the broker acks it."""
        headers_: Any = headers  # confluent-kafka's stubs ask for a list of Optional values
        try:
            if partition is None:  # no keyword dict to build for the common case
                self._producer.produce(topic, value, key, on_delivery=on_delivery, headers=headers_)
            else:
                self._producer.produce(topic, value, key, partition, on_delivery, headers=headers_)
        except BufferError:
            self._produce_when_room(topic, value, key, headers, on_delivery, partition)
        if self._timer is None:
            self._timer = self._loop.call_later(self._interval, self._poll)

    def _produce_when_room(
        self,
        topic: str,
        value: bytes | None,
        key: str | bytes | None,
        headers: Headers | None,
        on_delivery: DeliveryCallback,
        partition: int | None,
    ) -> None:
        """The local queue is full (the broker is behind): serve reports until room frees."""
        args: dict[str, Any] = {"key": key, "headers": headers, "on_delivery": on_delivery}
        if partition is not None:
            args["partition"] = partition
        while True:
            self._producer.poll(0.01)
            try:
                self._producer.produce(topic, value, **args)
                return
            except BufferError:
                continue

    async def send(
        self,
        topic: str,
        value: bytes | None,
        *,
        key: str | bytes | None = None,
        headers: Headers | None = None,
        partition: int | None = None,
    ) -> Message:
        """Produce one record (to `partition`, if given) and wait for the broker's
        acknowledgement."""
        future: asyncio.Future[Message] = self._loop.create_future()

        def resolve(error: KafkaError | None, message: Message) -> None:
            if future.done():
                return
            if error is not None:
                future.set_exception(DeliveryError(error))
            else:
                future.set_result(message)

        self.produce(
            topic, value, key=key, headers=headers, on_delivery=resolve, partition=partition
        )
        return await future

    async def flush(self, timeout_s: float = 30.0) -> int:
        """Wait until every queued record is acknowledged; returns how many are left."""
        deadline = time.monotonic() + timeout_s
        while len(self._producer) and time.monotonic() < deadline:
            self._producer.poll(0)
            await asyncio.sleep(POLL_INTERVAL_S)
        return len(self._producer)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._producer.poll(0)

    def _poll(self) -> None:
        self._timer = None
        self._producer.poll(0)  # delivery callbacks run here, on the loop
        if len(self._producer):
            self._timer = self._loop.call_later(self._interval, self._poll)
