"""Serde against the real registry and broker: Confluent interop both ways, and evolution."""

from __future__ import annotations

import enum
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import SchemaRegistryClient, topic_subject_name_strategy
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from pydantic import Field

from hivebus.contracts import (
    ContractError,
    IncompatibleContract,
    Record,
    Serde,
    UndecodableRecord,
)
from hivebus.dev import Endpoints
from hivebus.testing.stack import unique_name

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas" / "contracts"


class Kind(enum.StrEnum):
    CARD = "CARD"
    WIRE = "WIRE"


class Merchant(Record):
    name: str
    country: str = "NL"


class PaymentV1(Record, avsc=SCHEMAS / "payment.v1.avsc"):
    id: str
    amount: float
    count: int = 0
    approved: bool = False
    kind: Kind
    note: str | None = None
    tags: list[str] = Field(default_factory=list)
    limits: dict[str, int] = Field(default_factory=dict)
    merchant: Merchant
    raw: bytes = b""


class PaymentV2(PaymentV1, avsc=SCHEMAS / "payment.v2.avsc"):
    """v2 adds `channel` with a default: v1 records read as channel 'web'."""

    channel: str = "web"


def payment_v1(n: int) -> PaymentV1:
    return PaymentV1(
        id=f"p-{n}",
        amount=n * 1.25,
        count=n,
        kind=Kind.WIRE if n % 2 else Kind.CARD,
        note=None if n % 3 else f"note {n}",
        tags=["a", f"t{n}"],
        limits={"daily": 100 + n},
        merchant=Merchant(name=f"m{n}", country="BE"),
        raw=bytes([0, 255, n % 256]),
    )


def payment_v2(n: int) -> PaymentV2:
    return PaymentV2(**payment_v1(n).model_dump(), channel="app")


@pytest.fixture
def serde(registry: SchemaRegistryClient) -> Iterator[Serde]:
    """A serde whose subjects are deleted afterwards, so the registry does not grow per run."""
    serde = Serde(registry)
    yield serde
    for encoder in list(serde._encoders.values()):
        for permanent in (False, True):
            try:
                registry.delete_subject(encoder.subject, permanent=permanent)
            except Exception:
                break


def test_encoded_values_are_read_by_confluents_deserializer(
    serde: Serde, registry: SchemaRegistryClient, topic: str
) -> None:
    encoder = serde.encoder(topic, PaymentV1)
    assert serde.encoder(topic, PaymentV1) is encoder  # registered once, then cached
    record = payment_v1(3)
    value = encoder.encode(record)

    assert value[0] == 0
    schema_id = registry.get_latest_version(f"{topic}-value").schema_id
    assert int.from_bytes(value[1:5], "big") == schema_id == encoder.schema_id
    plain = AvroDeserializer(registry)(value, SerializationContext(topic, MessageField.VALUE))
    assert plain == {**record.model_dump(), "kind": "WIRE"}
    assert type(plain["kind"]) is str


def test_values_from_confluents_serializer_decode(
    serde: Serde, registry: SchemaRegistryClient, topic: str
) -> None:
    serializer = AvroSerializer(
        registry,
        json.dumps(json.loads((SCHEMAS / "payment.v1.avsc").read_text())),
        conf={"auto.register.schemas": True, "subject.name.strategy": topic_subject_name_strategy},
    )
    record = payment_v1(4)
    value = serializer(record.to_avro(), SerializationContext(topic, MessageField.VALUE))
    try:
        assert serde.decode(value, PaymentV1) == record
        upgraded = serde.decode(value, PaymentV2)
        assert upgraded.channel == "web"  # the v2 reader's default fills the missing field
        assert upgraded.model_dump(exclude={"channel"}) == record.model_dump()
    finally:
        registry.delete_subject(f"{topic}-value")
        registry.delete_subject(f"{topic}-value", permanent=True)


def test_v1_and_v2_writers_share_a_topic_and_both_readers_decode_everything(
    serde: Serde, stack: Endpoints, topic: str
) -> None:
    producer = Producer({"bootstrap.servers": stack.bootstrap_servers})
    v1, v2 = serde.encoder(topic, PaymentV1), serde.encoder(topic, PaymentV2)
    assert v1.subject == v2.subject == f"{topic}-value"
    assert v1.schema_id != v2.schema_id
    sent: list[PaymentV1] = []
    for n in range(6):
        record = payment_v1(n) if n % 2 == 0 else payment_v2(n)
        encoder = v1 if n % 2 == 0 else v2
        producer.produce(topic, encoder.encode(record), key=record.id)
        sent.append(record)
    assert producer.flush(30) == 0

    values = _consume(stack, topic, len(sent))
    as_v2 = [serde.decode(value, PaymentV2) for value in values]
    as_v1 = [serde.decode(value, PaymentV1) for value in values]

    assert [r.channel for r in as_v2] == ["web", "app"] * 3  # v1 records take the default
    assert [r.id for r in as_v2] == [r.id for r in sent]
    # A v1 reader ignores the v2 field; it still gets every v1 field of every record.
    assert [r.model_dump() for r in as_v1] == [
        PaymentV1(**r.model_dump(exclude={"channel"})).model_dump() for r in sent
    ]
    assert {type(r) for r in as_v1} == {PaymentV1}
    writer, plain = serde.decode_any(values[1])
    assert writer.schema_id == v2.schema_id
    assert writer.fullname == "hivebus.tests.contracts.Payment"
    assert plain["channel"] == "app"


def test_an_unknown_schema_id_is_undecodable(serde: Serde) -> None:
    value = b"\x00" + (2**31 - 7).to_bytes(4, "big") + b"\x02id"
    for call in (serde.writer, serde.decode_any, lambda v: serde.decode(v, PaymentV1)):
        with pytest.raises(UndecodableRecord) as error:
            call(value)
        assert error.value.reason == "unknown-schema-id"
        assert str(2**31 - 7) in str(error.value)


def test_truncated_avro_is_undecodable(serde: Serde, topic: str) -> None:
    value = serde.encoder(topic, PaymentV1).encode(payment_v1(7))
    for cut in (6, len(value) // 2, len(value) - 1):
        with pytest.raises(UndecodableRecord) as error:
            serde.decode(value[:cut], PaymentV1)
        assert error.value.reason == "truncated-avro"
    with pytest.raises(UndecodableRecord, match="truncated-avro"):
        serde.decode_any(value[:5])


def test_a_value_of_another_record_type_is_undecodable_for_this_reader(
    serde: Serde, topic: str, tmp_path: Path
) -> None:
    (tmp_path / "refund.avsc").write_text(
        '{"type": "record", "name": "Refund", "namespace": "hivebus.tests.contracts",'
        ' "fields": [{"name": "id", "type": "string"}]}'
    )

    class Refund(Record, avsc=tmp_path / "refund.avsc"):
        id: str

    value = serde.encoder(topic, PaymentV1).encode(payment_v1(2))
    with pytest.raises(UndecodableRecord) as error:
        serde.decode(value, Refund)
    assert error.value.reason == "incompatible-schema"
    assert "written as hivebus.tests.contracts.Payment" in str(error.value)


def test_an_incompatible_model_is_refused_naming_subject_and_field(
    serde: Serde, topic: str, tmp_path: Path
) -> None:
    serde.encoder(topic, PaymentV1)
    breaking = json.loads((SCHEMAS / "payment.v1.avsc").read_text())
    breaking["fields"].append({"name": "currency", "type": "string"})
    (tmp_path / "payment.avsc").write_text(json.dumps(breaking))

    class PaymentWithCurrency(PaymentV1, avsc=tmp_path / "payment.avsc"):
        currency: str

    with pytest.raises(IncompatibleContract) as refused:
        serde.encoder(topic, PaymentWithCurrency)
    assert refused.value.subject == f"{topic}-value"
    assert f"subject '{topic}-value'" in str(refused.value)
    assert "field 'currency' has no default" in str(refused.value)


def test_without_auto_register_an_unregistered_model_is_an_error(
    registry: SchemaRegistryClient, serde: Serde, topic: str
) -> None:
    strict = Serde(registry, auto_register=False)
    with pytest.raises(ContractError, match=f"not registered under subject '{topic}-value'"):
        strict.encoder(topic, PaymentV1)
    registered = serde.encoder(topic, PaymentV1)  # the fixture's serde registers, then cleans up
    assert strict.encoder(topic, PaymentV1).schema_id == registered.schema_id


def test_a_multi_type_topic_registers_per_record_subjects(serde: Serde, topic: str) -> None:
    encoder = serde.encoder(topic, PaymentV1, multi_type=True)
    assert encoder.subject == f"{topic}-hivebus.tests.contracts.Payment"
    assert serde.decode(encoder.encode(payment_v1(1)), PaymentV1) == payment_v1(1)


def _consume(stack: Endpoints, topic: str, count: int) -> list[bytes]:
    consumer = Consumer({
        "bootstrap.servers": stack.bootstrap_servers,
        "group.id": unique_name("contracts"),
        "auto.offset.reset": "earliest",
    })  # fmt: skip
    consumer.subscribe([topic])
    values: list[bytes] = []
    try:
        for _ in range(150):
            message = consumer.poll(0.2)
            if message is not None and not message.error():
                values.append(message.value())  # type: ignore[arg-type]
            if len(values) == count:
                break
    finally:
        consumer.close()
    assert len(values) == count
    return values
