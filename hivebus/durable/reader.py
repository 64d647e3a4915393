"""Reading journals as the broker has them, for tools: `hivebus runs`, tests, dashboards."""

from __future__ import annotations

import uuid

from confluent_kafka import Consumer, KafkaError

from hivebus.contracts import Serde
from hivebus.durable.records import RunJournal
from hivebus.durable.topics import journal_topic
from hivebus.kafka.endpoints import bootstrap_servers

PREFIX = journal_topic("")


def durable_agents(timeout_s: float = 10) -> list[str]:
    """The agents that have a journal topic."""
    consumer = _consumer()
    try:
        topics = consumer.list_topics(timeout=timeout_s).topics
    finally:
        consumer.close()
    return sorted(name[len(PREFIX) :] for name in topics if name.startswith(PREFIX))


def read_journals(serde: Serde, agent: str, timeout_s: float = 10) -> dict[str, RunJournal]:
    """The newest journal of every run of `agent` (committed records only, to the end)."""
    topic = journal_topic(agent)
    consumer = _consumer()
    found: dict[str, RunJournal] = {}
    try:
        metadata = consumer.list_topics(topic, timeout=timeout_s).topics.get(topic)
        if metadata is None or metadata.error is not None:
            return found
        partitions = len(metadata.partitions)
        consumer.subscribe([topic])
        ended: set[int] = set()
        while len(ended) < partitions:
            message = consumer.poll(timeout_s)
            if message is None:
                raise TimeoutError(f"{topic} did not reach its end within {timeout_s:.0f} s")
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    ended.add(message.partition() or 0)
                continue
            key, value = (message.key() or b"").decode(), message.value()
            if value is None:
                found.pop(key, None)
            else:
                found[key] = serde.decode(value, RunJournal)
    finally:
        consumer.close()
    return found


def _consumer() -> Consumer:
    return Consumer({
        "bootstrap.servers": bootstrap_servers(),
        "group.id": f"hivebus-journal-reader-{uuid.uuid4().hex[:8]}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "enable.partition.eof": True,
        "isolation.level": "read_committed",
    })  # fmt: skip
