"""Reading a durable agent's journal as the broker has it, with a raw consumer."""

from __future__ import annotations

import uuid

from confluent_kafka import Consumer, KafkaError

from hivebus.contracts import Serde
from hivebus.durable import RunJournal, journal_topic
from hivebus.kafka.endpoints import bootstrap_servers


def journals(serde: Serde, agent: str, timeout_s: float = 10) -> dict[str, RunJournal]:
    """The newest journal record of every run of `agent` (read_committed, to the end)."""
    consumer = Consumer({
        "bootstrap.servers": bootstrap_servers(), "group.id": f"journal-{uuid.uuid4().hex[:8]}",
        "auto.offset.reset": "earliest", "enable.partition.eof": True,
        "isolation.level": "read_committed",
    })  # fmt: skip
    topic = journal_topic(agent)
    partitions = len(consumer.list_topics(topic, timeout=10).topics[topic].partitions)
    consumer.subscribe([topic])
    found: dict[str, RunJournal] = {}
    ended: set[int] = set()
    try:
        while len(ended) < partitions:
            message = consumer.poll(timeout_s)
            if message is None:
                raise TimeoutError(f"{topic} did not reach its end within {timeout_s} s")
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    ended.add(message.partition() or 0)
                continue
            value = message.value()
            key = (message.key() or b"").decode()
            if value is None:
                found.pop(key, None)
            else:
                found[key] = serde.decode(value, RunJournal)
    finally:
        consumer.close()
    return found
