"""One consumed record on its way to "complete": handler done *and* every output acknowledged.

A job counts its outputs in flight. Each broker acknowledgement decrements the count; the job
completes when the handler has finished and the count is zero. If an output is refused by
the broker, the source record goes to the dead-letter topic instead (and completes when that
write is acknowledged), so a record never completes with a lost output.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from confluent_kafka import KafkaError, Message

from hivebus.contracts import Record, lineage
from hivebus.kafka.records import Consumed, Headers
from hivebus.runtime.deadletter import Failure

if TYPE_CHECKING:
    from hivebus.runtime.context import Context
    from hivebus.runtime.dispatcher import Dispatcher


class Job:
    __slots__ = (
        "closed",
        "dead",
        "delivery_error",
        "dispatcher",
        "handler_done",
        "headers",
        "key",
        "lane",
        "message",
        "partition",
        "pending",
    )

    def __init__(
        self, dispatcher: Dispatcher, message: Consumed, partition: tuple[str, int]
    ) -> None:
        self.dispatcher = dispatcher
        self.message = message
        self.partition = partition
        self.lane: object = None
        self.pending = 0
        self.handler_done = False
        self.delivery_error: KafkaError | None = None
        self.dead = False
        self.closed = False
        self.headers: Headers | None = None  # the input's, read when the record starts
        self.key: str | None = None

    async def publish(
        self, topic: str, record: Record, *, key: str | None, ctx: Context, multi_type: bool
    ) -> None:
        self.emit(topic, record, key, ctx, multi_type)

    def emit(
        self, topic: str, record: Record, key: str | None, ctx: Context, multi_type: bool = False
    ) -> None:
        """Encode and produce an output; the job completes only once the broker acks it."""
        d = self.dispatcher
        value = d.encoder(topic, type(record), multi_type).encode(record)
        cause, correlation, run = lineage(self.headers)
        headers, _ = d.headers.build(
            record.fullname, correlation_id=correlation or cause, causation_id=cause, run_id=run
        )
        self.pending += 1
        d.emitted.add(record.fullname)
        d.producer.produce(topic, value, key=key, headers=headers, on_delivery=self._delivered)

    def send_to_dead_letters(self, failure: Failure) -> None:
        self.dead = True
        self.pending += 1
        self.dispatcher.write_dead_letter(self, failure)

    def dead_letter_written(self) -> None:
        self.pending -= 1
        self.finish_if_done()

    def finish_if_done(self) -> None:
        if self.pending or not self.handler_done or self.closed:
            return
        if self.delivery_error is not None and not self.dead:
            error = self.delivery_error
            self.send_to_dead_letters(Failure("delivery", error.name(), error.str(), 1))
            return
        self.closed = True
        self.dispatcher.complete(self)

    def _delivered(self, error: KafkaError | None, message: Message) -> None:
        self.pending -= 1
        if error is not None:
            self.delivery_error = error
        else:
            self.dispatcher.stats.count_produced(message.topic() or "")
        self.finish_if_done()
