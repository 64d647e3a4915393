"""Publishing events from code that is not an agent (a web app, a script, a test)."""

from __future__ import annotations

import asyncio
from types import TracebackType

from hivebus.contracts import Encoder, HeaderBuilder, Record, Serde, registry_client
from hivebus.kafka.config import producer_config
from hivebus.kafka.producer import AsyncProducer
from hivebus.runtime import tracecontext


class Publisher:
    """`async with Publisher("checkout") as p: await p.publish(topic, event, key=...)`."""

    def __init__(
        self,
        source: str,
        *,
        serde: Serde | None = None,
        producer: AsyncProducer | None = None,
    ) -> None:
        self.source = source
        self._serde = serde
        self._producer = producer
        self._owns_producer = producer is None
        self._headers = HeaderBuilder(source)
        self._encoders: dict[tuple[str, type[Record], bool], Encoder] = {}

    async def __aenter__(self) -> Publisher:
        if self._serde is None:
            self._serde = Serde(registry_client())
        if self._producer is None:
            self._producer = AsyncProducer(
                producer_config(f"publisher-{self.source}"), asyncio.get_running_loop()
            )
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def publish(
        self,
        topic: str,
        record: Record,
        *,
        key: str | bytes | None = None,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        multi_type: bool = False,
    ) -> str:
        """Publish one event and wait for the broker's acknowledgement; returns its `ce_id`."""
        value, headers, event_id = self._frame(
            topic, record, correlation_id, causation_id, multi_type
        )
        assert self._producer is not None, "use `async with Publisher(...)`"
        await self._producer.send(topic, value, key=key, headers=headers)
        return event_id

    async def publish_many(self, topic: str, records: list[tuple[str | None, Record]]) -> int:
        """Publish (key, record) pairs concurrently; returns how many were acknowledged."""
        sends = [self.publish(topic, record, key=key) for key, record in records]
        return len(await asyncio.gather(*sends))

    async def close(self) -> None:
        if self._producer is not None and self._owns_producer:
            await self._producer.flush()
            self._producer.close()
            self._producer = None

    def _frame(
        self,
        topic: str,
        record: Record,
        correlation_id: str | None,
        causation_id: str | None,
        multi_type: bool,
    ) -> tuple[bytes, list[tuple[str, bytes]], str]:
        assert self._serde is not None, "use `async with Publisher(...)`"
        key = (topic, type(record), multi_type)
        encoder = self._encoders.get(key)
        if encoder is None:
            encoder = self._encoders[key] = self._serde.encoder(
                topic, type(record), multi_type=multi_type
            )
        headers, event_id = self._headers.build(
            record.fullname, correlation_id=correlation_id, causation_id=causation_id
        )
        trace = tracecontext.current()  # the caller's span, when tracing is in use
        if trace is not None:
            headers.extend(trace)
        return encoder.encode(record), headers, event_id
