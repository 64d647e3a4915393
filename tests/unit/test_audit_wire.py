"""The hand-written Avro of decisions and batches is what fastavro reads with the .avsc."""

from __future__ import annotations

import io

import fastavro
import pytest

from hivebus.audit import wire
from hivebus.audit.batches import batch_value
from hivebus.audit.records import AuditBatch, AuditEvent
from hivebus.audit.writer import encode_event
from hivebus.contracts.wire import frame_header
from hivebus.kafka.partitioning import murmur2, partition_of

SCHEMA = fastavro.parse_schema(AuditBatch.contract().schema)
ITEM = fastavro.parse_schema(AuditBatch.contract().schema["fields"][0]["type"]["items"])


def read_item(body: bytes) -> AuditEvent:
    return AuditEvent.model_validate(fastavro.schemaless_reader(io.BytesIO(body), ITEM))


AGENT = wire.string(b"fraud") + wire.string(b"1.2")
BASE = {
    "kind": "decision", "agent": "fraud", "agent_version": "1.2", "attempt": 1,
    "step": None, "llm": None,
}  # fmt: skip


@pytest.mark.parametrize("offset", [0, 5, 4095, 4096, 123_456, 2**40])
def test_a_plain_decision_reads_back_field_for_field(offset: int) -> None:
    body = wire.plain(
        b"fraud/", b"e1", AGENT, b"c1", None, wire.long(1_796_000_000_123), 2.5, 1,
        wire.string(b"transactions.card"), 2, offset, None, wire.string(b"x.Transaction"),
        [(wire.string(b"flagged"), b"e2", wire.string(b"x.Flagged"))],
    )  # fmt: skip
    got = read_item(body)
    assert got.model_dump() == {
        **BASE, "decision_id": "fraud/e1", "seq": 0, "correlation_id": "c1", "run_id": None,
        "at_ms": 1_796_000_000_123, "duration_ms": 2.5, "outcome": "ok",
        "input": {"topic": "transactions.card", "partition": 2, "offset": offset,
                  "event_id": "e1", "causation_id": None, "type": "x.Transaction",
                  "payload": None},
        "outputs": [{"topic": "flagged", "event_id": "e2", "type": "x.Flagged", "payload": None}],
        "error": None,
    }  # fmt: skip


def test_every_field_of_a_full_decision_reads_back() -> None:
    body = wire.decision(
        b"runs/r1/w", 3, AGENT, b"c1", b"r1", wire.long(7), 1e6, wire.string(b"dead-lettered"),
        4, wire.string(b"t"), 0, -1, b"e1", b"e0", wire.string(b"x.T"), '{"a":"é"}'.encode(),
        [(wire.string(b"o"), b"e2", wire.string(b"x.O"), b"{}"),
         (wire.string(b"p"), b"e3", wire.string(b"x.P"), None)],
        (b"LookupError", b"no such thing", b"hivebus.dlq.fraud"),
    )  # fmt: skip
    got = read_item(body)
    assert (got.run_id, got.seq, got.outcome, got.attempt) == ("r1", 3, "dead-lettered", 4)
    assert got.input is not None and got.input.offset == -1 and got.input.causation_id == "e0"
    assert got.input.payload == '{"a":"é"}'
    assert [(o.event_id, o.payload) for o in got.outputs] == [("e2", "{}"), ("e3", None)]
    assert got.error is not None and got.error.dead_letter_topic == "hivebus.dlq.fraud"


def test_a_batch_of_hand_written_and_fastavro_events_is_one_audit_batch() -> None:
    step = AuditEvent(kind="step", decision_id="fraud/e1", seq=0, agent="fraud",
                      agent_version="1.2", correlation_id="c1", at_ms=1, duration_ms=0.1,
                      outcome="ok")  # fmt: skip
    plain = wire.plain(b"fraud/", b"e1", AGENT, b"c1", None, wire.long(1), 0.2, 1,
                       wire.string(b"t"), 0, 9, b"e0", wire.string(b"x.T"), [])  # fmt: skip
    value = batch_value(frame_header(42), [encode_event(step), plain])
    assert value[:5] == frame_header(42)
    read = fastavro.schemaless_reader(io.BytesIO(value[5:]), SCHEMA)
    batch = AuditBatch.model_validate(read)
    assert [(e.kind, e.seq) for e in batch.events] == [("step", 0), ("decision", 0)]
    assert batch.events[1].input is not None and batch.events[1].input.causation_id == "e0"


def test_keys_are_placed_as_the_java_client_places_them() -> None:
    # Kafka's own test vectors for Utils.murmur2 (as signed 32-bit ints).
    vectors = {"21": -973932308, "foobar": -790332482, "abc": 479470107,
               "a-little-bit-long-string": -985981536,
               "a-little-bit-longer-string": -1486304829}  # fmt: skip
    for key, expected in vectors.items():
        assert murmur2(key.encode()) == expected % 2**32
    assert {partition_of(f"k{i}".encode(), 6) for i in range(100)} == set(range(6))


def test_no_partitions_is_an_error_not_a_crash() -> None:
    # librdkafka's murmur2 divides by the count: 0 would kill the process with SIGFPE.
    with pytest.raises(ValueError, match="at least one partition"):
        partition_of(b"key", 0)
