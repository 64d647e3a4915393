"""A smoke run of the stack: topic, Avro contract, produce, consume — printed step by step."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic
from confluent_kafka.schema_registry import SchemaRegistryClient, topic_subject_name_strategy
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from hivebus.contracts.registry_config import registry_connection
from hivebus.dev.stack import Endpoints
from hivebus.errors import HivebusError
from hivebus.kafka.connection import connection_settings

TOPIC = "smoke.greetings"
GREETING = {
    "type": "record",
    "name": "Greeting",
    "namespace": "hivebus.smoke",
    "fields": [
        {"name": "id", "type": "string"},
        {"name": "text", "type": "string"},
        {"name": "seq", "type": "int"},
    ],
}


def run(endpoints: Endpoints, count: int = 3, say: Callable[[str], None] = print) -> int:
    """Round-trip `count` Avro events through Kafka and the registry; returns events read.

    An external cluster is reached with the whole connection configuration (TLS, SASL,
    registry credentials), the local stack with its address alone.
    """
    kafka: dict[str, Any] = {"bootstrap.servers": endpoints.bootstrap_servers}
    registry_settings: dict[str, Any] = {"url": endpoints.registry_url}
    if endpoints.external:
        kafka = {**connection_settings("admin"), **kafka}
        registry_settings = {**registry_connection().config(), **registry_settings}
    admin = AdminClient(kafka)
    if TOPIC not in admin.list_topics(timeout=10).topics:
        admin.create_topics([NewTopic(TOPIC, num_partitions=3, replication_factor=1)])[
            TOPIC
        ].result(timeout=30)
        say(f"created topic {TOPIC} (3 partitions)")
    else:
        say(f"topic {TOPIC} exists")

    registry = SchemaRegistryClient(registry_settings)
    serializer = AvroSerializer(
        registry,
        json.dumps(GREETING),
        conf={"auto.register.schemas": True, "subject.name.strategy": topic_subject_name_strategy},
    )
    context = SerializationContext(TOPIC, MessageField.VALUE)
    run_id = uuid.uuid4().hex[:8]
    producer = Producer({**kafka, "enable.idempotence": True})
    for seq in range(count):
        key = f"{run_id}-{seq}"
        value = {"id": key, "text": f"hello #{seq} from the smoke run", "seq": seq}
        producer.produce(TOPIC, key=key, value=serializer(value, context))
    if producer.flush(30) != 0:
        raise HivebusError("the smoke run's events were not acknowledged within 30 s")
    schema_id = registry.get_latest_version(f"{TOPIC}-value").schema_id
    say(f"registered contract hivebus.smoke.Greeting as {TOPIC}-value (schema id {schema_id})")
    say(f"produced {count} Avro events (Confluent wire format, idempotent producer)")

    consumer = Consumer({
        **kafka,
        "group.id": f"hivebus-smoke-{run_id}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    })  # fmt: skip
    deserializer = AvroDeserializer(registry)
    consumer.subscribe([TOPIC])
    seen = 0
    try:
        for _ in range(200):
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            event = deserializer(message.value(), context)
            if not event["id"].startswith(run_id):
                continue
            seen += 1
            say(f"consumed p{message.partition()}@{message.offset()}: {event}")
            if seen == count:
                break
        consumer.commit(asynchronous=False)
    finally:
        consumer.close()
    if seen != count:
        raise HivebusError(f"the smoke run read {seen} of its {count} events back")
    say(f"smoke run ok: {count} events round-tripped through Kafka and the schema registry")
    return seen
