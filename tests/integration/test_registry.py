"""The local stack has a real Confluent-compatible registry that enforces compatibility."""

from __future__ import annotations

import json

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import (
    Schema,
    SchemaRegistryClient,
    topic_subject_name_strategy,
)
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext

from hivebus.dev import Endpoints
from hivebus.testing.stack import unique_name

ORDER_V1 = {
    "type": "record",
    "name": "Order",
    "namespace": "test.registry",
    "fields": [{"name": "id", "type": "string"}, {"name": "amount", "type": "double"}],
}


def _with_field(schema: dict[str, object], field: dict[str, object]) -> str:
    fields = [*schema["fields"], field]  # type: ignore[misc]
    return json.dumps({**schema, "fields": fields})


def test_incompatible_change_is_rejected_with_409(registry: SchemaRegistryClient) -> None:
    subject = f"{unique_name('orders')}-value"
    first = registry.register_schema(subject, Schema(json.dumps(ORDER_V1), "AVRO"))

    compatible = _with_field(ORDER_V1, {"name": "note", "type": "string", "default": ""})
    second = registry.register_schema(subject, Schema(compatible, "AVRO"))
    assert second != first

    # A new field without a default cannot be read from old records: BACKWARD forbids it.
    breaking = _with_field(ORDER_V1, {"name": "currency", "type": "string"})
    assert registry.test_compatibility(subject, Schema(breaking, "AVRO")) is False
    with pytest.raises(SchemaRegistryError) as rejected:
        registry.register_schema(subject, Schema(breaking, "AVRO"))
    assert rejected.value.http_status_code == 409
    assert [v for v in registry.get_versions(subject)] == [1, 2]


def test_avro_serializer_output_is_read_back_by_avro_deserializer(
    stack: Endpoints, registry: SchemaRegistryClient, topic: str
) -> None:
    serializer = AvroSerializer(
        registry,
        json.dumps(ORDER_V1),
        conf={"auto.register.schemas": True, "subject.name.strategy": topic_subject_name_strategy},
    )
    context = SerializationContext(topic, MessageField.VALUE)
    orders = [{"id": f"o-{i}", "amount": i * 1.5} for i in range(5)]
    producer = Producer({"bootstrap.servers": stack.bootstrap_servers})
    for order in orders:
        producer.produce(topic, serializer(order, context), key=order["id"])
    assert producer.flush(30) == 0

    consumer = Consumer({
        "bootstrap.servers": stack.bootstrap_servers,
        "group.id": unique_name("avro"),
        "auto.offset.reset": "earliest",
    })  # fmt: skip
    consumer.subscribe([topic])
    deserializer = AvroDeserializer(registry)
    raw: list[bytes] = []
    for _ in range(150):
        message = consumer.poll(0.2)
        if message is not None and not message.error():
            raw.append(message.value())
        if len(raw) == len(orders):
            break
    consumer.close()

    schema_id = registry.get_latest_version(f"{topic}-value").schema_id
    for value in raw:  # Confluent wire format: magic byte 0, then the big-endian schema id.
        assert value[0] == 0
        assert int.from_bytes(value[1:5], "big") == schema_id
    assert [deserializer(value, context) for value in raw] == orders
