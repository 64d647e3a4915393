"""One Kafka transaction at a time: records and consumer offsets committed together or not at all.

A transaction is two calls. `begin` starts it and queues its records; it waits for nothing,
so it runs on the event loop (a worker thread would fight the loop for the GIL once per
record). `finish` adds the offsets with the consumer's group metadata (KIP-447: a member the
group has since fenced out cannot commit) and commits; it waits for the broker, so it runs on
a worker thread, and on failure it aborts. No transaction is left open between a `begin` and
its `finish`, so none is held across a slow handler.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from confluent_kafka import KafkaException, Producer, TopicPartition

from hivebus.errors import ConfigError, HivebusError
from hivebus.kafka.config import describe_config_error

Outgoing = tuple[str, bytes | None, str | bytes | None, list[tuple[str, bytes]]]
GroupMetadata = Callable[[], Any]


class TransactionAborted(HivebusError):
    """The transaction was aborted; nothing of it is visible. The caller may try again."""


class TransactionFatal(HivebusError):
    """The producer can never commit again (fenced by a newer one, or a fatal error)."""


class TransactionalProducer:
    def __init__(self, config: dict[str, Any], timeout_s: float = 8.0) -> None:
        try:
            self._producer = Producer(config)
        except KafkaException as error:
            raise ConfigError(describe_config_error("producer", error)) from None
        self.timeout_s = timeout_s

    def start(self) -> None:
        """Register the transactional id with the coordinator (fencing older producers)."""
        self._producer.init_transactions(self.timeout_s)

    def begin(self, records: Sequence[Outgoing]) -> None:
        """Start a transaction and queue `records` in it. Waits for no broker; raises
        KafkaException, after which `recover` must run (it aborts)."""
        self._producer.begin_transaction()
        produce = self._produce
        for topic, value, key, headers in records:
            produce(topic, value, key, headers)

    def finish(self, offsets: list[TopicPartition], group_metadata: GroupMetadata) -> None:
        """Add `offsets` and commit the transaction `begin` started (blocking: call off the
        loop); on failure it is aborted: TransactionAborted, or TransactionFatal."""
        try:
            if offsets:
                self._producer.send_offsets_to_transaction(
                    offsets, group_metadata(), self.timeout_s
                )
            self._commit_with_retries()
        except KafkaException as error:
            self.recover(error)

    def recover(self, error: KafkaException) -> NoReturn:
        """After a failed step: abort (blocking), then raise what the caller can act on."""
        kafka_error = error.args[0]
        if kafka_error.fatal():  # fenced by a newer producer, say: never usable again
            raise TransactionFatal(f"producer failed: {kafka_error.str()}") from None
        try:
            self._producer.abort_transaction(self.timeout_s)
        except KafkaException as again:
            raise TransactionFatal(f"abort failed: {again.args[0].str()}") from None
        raise TransactionAborted(f"transaction aborted: {kafka_error.str()}") from None

    def _commit_with_retries(self, attempts: int = 5) -> None:
        """A commit that timed out may still complete: librdkafka wants it called again, not
        aborted (an abort could hide a commit that went through, and the records would be
        sent twice)."""
        for attempt in range(attempts):
            try:
                self._producer.commit_transaction(self.timeout_s)
                return
            except KafkaException as error:
                if not error.args[0].retriable() or attempt == attempts - 1:
                    raise

    def _produce(
        self, topic: str, value: bytes | None, key: str | bytes | None, headers: Any
    ) -> None:
        while True:
            try:
                self._producer.produce(topic, value, key=key, headers=headers)
                return
            except BufferError:  # the local queue is full: let deliveries drain it
                self._producer.poll(0.05)

    def close(self) -> None:
        self._producer.flush(5)
