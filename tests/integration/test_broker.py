"""The local stack is a real Kafka broker: groups, regex subscriptions, transactions."""

from __future__ import annotations

import time
import uuid

from confluent_kafka import Consumer, KafkaException, Producer
from confluent_kafka.admin import AdminClient

from hivebus.dev import Endpoints
from hivebus.testing.stack import unique_name
from tests.integration.conftest import create_topic


def _consumer(stack: Endpoints, **extra: object) -> Consumer:
    return Consumer({
        "bootstrap.servers": stack.bootstrap_servers,
        "group.id": unique_name("group"),
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        **extra,
    })  # fmt: skip


def _drain(consumer: Consumer, want: int, timeout_s: float = 30) -> list[tuple[str, bytes]]:
    got: list[tuple[str, bytes]] = []
    deadline = time.monotonic() + timeout_s
    while len(got) < want and time.monotonic() < deadline:
        message = consumer.poll(0.2)
        if message is None:
            continue
        if message.error():
            raise KafkaException(message.error())
        got.append((message.topic(), message.value()))
    return got


def test_consumer_group_reads_what_was_produced_and_commits(stack: Endpoints, topic: str) -> None:
    producer = Producer({"bootstrap.servers": stack.bootstrap_servers})
    payloads = [uuid.uuid4().bytes for _ in range(20)]
    for payload in payloads:
        producer.produce(topic, payload, key=b"k")
    assert producer.flush(30) == 0

    consumer = _consumer(stack)
    consumer.subscribe([topic])
    got = _drain(consumer, len(payloads))
    consumer.commit(asynchronous=False)
    committed = consumer.committed(consumer.assignment(), timeout=10)
    consumer.close()

    assert [value for _, value in got] == payloads
    assert committed[0].offset == len(payloads)


def test_regex_subscription_picks_up_a_topic_created_later(
    stack: Endpoints, admin: AdminClient
) -> None:
    prefix = unique_name("regex")
    consumer = _consumer(stack, **{"topic.metadata.refresh.interval.ms": 500})
    consumer.subscribe([f"^{prefix.replace('.', '[.]')}[.].*"])
    consumer.poll(1.0)  # join the group before the topic exists

    late_topic = create_topic(admin, f"{prefix}.created-later")
    producer = Producer({"bootstrap.servers": stack.bootstrap_servers})
    producer.produce(late_topic, b"late event")
    assert producer.flush(30) == 0

    got = _drain(consumer, 1, timeout_s=45)
    consumer.close()
    assert got == [(late_topic, b"late event")]


def test_read_committed_sees_committed_transactions_and_not_aborted_ones(
    stack: Endpoints, topic: str
) -> None:
    producer = Producer({
        "bootstrap.servers": stack.bootstrap_servers,
        "transactional.id": unique_name("tx"),
    })  # fmt: skip
    producer.init_transactions(30)
    producer.begin_transaction()
    producer.produce(topic, b"aborted")
    producer.flush(30)
    producer.abort_transaction(30)
    producer.begin_transaction()
    producer.produce(topic, b"committed")
    producer.commit_transaction(30)

    committed_reader = _consumer(stack, **{"isolation.level": "read_committed"})
    committed_reader.subscribe([topic])
    seen = _drain(committed_reader, 2, timeout_s=8)
    committed_reader.close()

    raw_reader = _consumer(stack, **{"isolation.level": "read_uncommitted"})
    raw_reader.subscribe([topic])
    raw = _drain(raw_reader, 2, timeout_s=15)
    raw_reader.close()

    assert [value for _, value in seen] == [b"committed"]
    # The aborted record really reached the log: only the isolation level hides it.
    assert [value for _, value in raw] == [b"aborted", b"committed"]
