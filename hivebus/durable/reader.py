"""Reading journals as the broker has them, for tools: `hivebus runs`, tests, dashboards."""

from __future__ import annotations

import uuid

from confluent_kafka import Consumer

from hivebus.contracts import Serde
from hivebus.durable.journal import read_partition
from hivebus.durable.records import RunJournal
from hivebus.durable.topics import journal_topic
from hivebus.kafka.connection import connection_settings

PREFIX = journal_topic("")


def durable_agents(timeout_s: float = 10) -> list[str]:
    """The agents that have a journal topic."""
    return sorted(name[len(PREFIX) :] for name in _topics(timeout_s) if name.startswith(PREFIX))


def read_journals(serde: Serde, agent: str, timeout_s: float = 10) -> dict[str, RunJournal]:
    """The newest journal of every run of `agent`, every partition read to its end."""
    topic = journal_topic(agent)
    partitions = _topics(timeout_s).get(topic, 0)
    found: dict[str, RunJournal] = {}
    for partition in range(partitions):
        found.update(read_partition(serde, topic, partition))
    return found


def _topics(timeout_s: float) -> dict[str, int]:
    """Every topic of the cluster, with its partition count."""
    consumer = Consumer({
        **connection_settings("consumer"),
        "group.id": f"hivebus-journal-reader-{uuid.uuid4().hex[:8]}",
    })  # fmt: skip
    try:
        topics = consumer.list_topics(timeout=timeout_s).topics
    finally:
        consumer.close()
    return {name: len(t.partitions) for name, t in topics.items() if t.error is None}
