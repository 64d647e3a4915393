"""An asyncio face for confluent-kafka's Producer.

A background thread serves delivery reports (`poll`) and hands them to the event loop in one
batch per poll, so the loop pays one wake-up per batch, not one per record. Callbacks run on
the loop thread; awaiting `send` gives the delivered message or raises `DeliveryError`.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from hivebus.errors import ConfigError, HivebusError

Headers = Sequence[tuple[str, bytes | str]]
DeliveryCallback = Callable[[KafkaError | None, Message], None]


class DeliveryError(HivebusError):
    def __init__(self, error: KafkaError) -> None:
        super().__init__(f"delivery failed: {error.str()}")
        self.error = error


class AsyncProducer:
    def __init__(self, config: dict[str, Any], loop: asyncio.AbstractEventLoop) -> None:
        try:
            self._producer = Producer(config)
        except KafkaException as error:
            raise ConfigError(f"invalid producer configuration: {error}") from None
        self._loop = loop
        self._reports: deque[tuple[DeliveryCallback, KafkaError | None, Message]] = deque()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="hivebus-producer", daemon=True)
        self._thread.start()

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
        args: dict[str, Any] = {"key": key, "headers": headers}
        if partition is not None:
            args["partition"] = partition
        while True:
            try:
                self._producer.produce(
                    topic, value, on_delivery=lambda e, m: self._collect(on_delivery, e, m), **args
                )
                return
            except BufferError:
                # The local queue is full: let the poll thread drain it, then retry.
                self._producer.poll(0.05)

    async def send(
        self,
        topic: str,
        value: bytes | None,
        *,
        key: str | bytes | None = None,
        headers: Headers | None = None,
    ) -> Message:
        """Produce one record and wait for the broker's acknowledgement."""
        future: asyncio.Future[Message] = self._loop.create_future()

        def resolve(error: KafkaError | None, message: Message) -> None:
            if future.done():
                return
            if error is not None:
                future.set_exception(DeliveryError(error))
            else:
                future.set_result(message)

        self.produce(topic, value, key=key, headers=headers, on_delivery=resolve)
        return await future

    async def flush(self, timeout_s: float = 30.0) -> int:
        """Wait until every queued record is acknowledged; returns how many are left."""
        left: int = await asyncio.to_thread(self._producer.flush, timeout_s)
        return left

    def close(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)

    @property
    def raw(self) -> Producer:
        return self._producer

    def _collect(
        self, callback: DeliveryCallback, error: KafkaError | None, message: Message
    ) -> None:
        self._reports.append((callback, error, message))

    def _serve(self) -> None:
        while not self._stopping.is_set():
            self._producer.poll(0.05)
            if self._reports:
                # popleft is atomic: reports appended by a concurrent flush() are never lost.
                batch = [self._reports.popleft() for _ in range(len(self._reports))]
                try:
                    self._loop.call_soon_threadsafe(_deliver, batch)
                except RuntimeError:  # the loop is closed: nobody is waiting any more
                    return


def _deliver(batch: list[tuple[DeliveryCallback, KafkaError | None, Message]]) -> None:
    for callback, error, message in batch:
        callback(error, message)
