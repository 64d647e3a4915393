"""One Kafka transaction at a time: records and consumer offsets committed together or not at all.

Each call of `commit` is a whole transaction — begin, produce the records, add the offsets
with the consumer's group metadata (KIP-447: a member the group has since fenced out cannot
commit), commit — run on a worker thread, because every step waits for the broker. No
transaction is ever left open between calls, so none is held across a slow handler.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

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

    def commit(
        self,
        records: Sequence[Outgoing],
        offsets: list[TopicPartition],
        group_metadata: GroupMetadata,
    ) -> None:
        """Produce `records` and commit `offsets` atomically (blocking: call off the loop)."""
        producer = self._producer
        try:
            producer.begin_transaction()
            for topic, value, key, headers in records:
                self._produce(topic, value, key, headers)
            if offsets:
                producer.send_offsets_to_transaction(offsets, group_metadata(), self.timeout_s)
            self._commit_with_retries()
        except KafkaException as error:
            kafka_error = error.args[0]
            if kafka_error.fatal():  # fenced by a newer producer, say: never usable again
                raise TransactionFatal(f"producer failed: {kafka_error.str()}") from None
            try:
                producer.abort_transaction(self.timeout_s)
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
