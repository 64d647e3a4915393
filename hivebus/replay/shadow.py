"""Where a replayed agent's records go: every one to a shadow topic, never a live one.

Two layers, so nothing slips through. `ShadowOutbox` rewrites the topic of each output before
its encoder is made, so contracts are registered under the shadow topic's subject and a live
subject never gets a version the new code wrote. `ShadowProducer` rewrites the topic of every
record produced at all — outputs, dead letters, what a middleware writes about a job (the
audit) — so even a record whose topic the outbox never saw lands in a shadow topic.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, Message

from hivebus.contracts import Record, Serde
from hivebus.kafka.producer import AsyncProducer, DeliveryCallback, Headers
from hivebus.replay.names import ShadowNames
from hivebus.runtime import metrics
from hivebus.runtime.job import Job
from hivebus.runtime.outbox import Key, Outbox


@dataclass(frozen=True)
class Produced:
    """A record the replay wrote and the broker acknowledged; `topic` is the live name."""

    topic: str
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]
    where: str  # shadow topic[partition]@offset


class ShadowProducer(AsyncProducer):
    """An `AsyncProducer` that writes each record to the shadow of its topic and tells
    `seen` of each one the broker acknowledged."""

    def __init__(
        self,
        config: dict[str, Any],
        loop: asyncio.AbstractEventLoop,
        *,
        names: ShadowNames,
        seen: Callable[[Produced], None],
    ) -> None:
        super().__init__(config, loop)
        self.names = names
        self._seen = seen

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
        live = self.names.live(topic)
        raw_key = key.encode() if isinstance(key, str) else key
        pairs = [(k, v.encode() if isinstance(v, str) else v) for k, v in headers or ()]

        def delivered(error: KafkaError | None, message: Message) -> None:
            if error is None:
                where = f"{message.topic()}[{message.partition()}]@{message.offset()}"
                self._seen(Produced(live, raw_key, value, pairs, where))
            on_delivery(error, message)

        super().produce(
            self.names.shadow(topic), value, key=key, headers=headers,
            on_delivery=delivered, partition=partition,
        )  # fmt: skip


class ShadowOutbox(Outbox):
    """The runtime's outbox with each output's topic (and so its subject) rewritten first;
    `ensure` creates a shadow topic the first time an output needs it."""

    def __init__(
        self,
        agent: str,
        *,
        names: ShadowNames,
        serde: Serde,
        producer: ShadowProducer,
        stats: metrics.AgentStats,
        log: logging.Logger,
        ensure: Callable[[str], Awaitable[None]],
    ) -> None:
        super().__init__(agent, serde=serde, producer=producer, stats=stats, log=log)
        self._names = names
        self._ensure = ensure

    def emit_cached(
        self, job: Job, topic: str, record: Record, key: Key, multi_type: bool = False
    ) -> bool:
        return super().emit_cached(job, self._names.shadow(topic), record, key, multi_type)

    async def emit(
        self, job: Job, topic: str, record: Record, key: Key, multi_type: bool = False
    ) -> None:
        shadow = self._names.shadow(topic)
        await self._ensure(shadow)
        await super().emit(job, shadow, record, key, multi_type)

    async def prepare(self, topic: str, model: type[Record], multi_type: bool = False) -> None:
        await super().prepare(self._names.shadow(topic), model, multi_type)
