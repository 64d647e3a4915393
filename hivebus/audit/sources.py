"""Reading what the audit names by reference: an input record in its topic, a run's journal.

Both are decoded with their writer's schema and redacted by its sensitive fields, so what a
tool shows from a reference is as private as what the audit keeps inline.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from hivebus.audit.records import InputRef
from hivebus.audit.redact import mask_of, redact, sensitive_values
from hivebus.contracts import Serde
from hivebus.durable.reader import read_journals
from hivebus.durable.records import RunJournal
from hivebus.kafka.connection import connection_settings

READ_TIMEOUT_S = 10.0


def decoded(serde: Serde, value: bytes) -> tuple[Any, set[str]]:
    """A Confluent-framed value as redacted JSON data, and its sensitive text values."""
    writer, data = serde.decode_any(value)
    mask = mask_of(json.loads(writer.schema_str))
    return _plain(redact(data, mask)), sensitive_values(data, mask)


def fetch_input(serde: Serde, ref: InputRef) -> tuple[Any, set[str]] | None:
    """The record at `ref`'s topic, partition and offset, if the topic still has it."""
    consumer = Consumer({
        **connection_settings("consumer"), "group.id": f"hivebus-history-{uuid.uuid4().hex[:8]}",
        "enable.auto.commit": False,
    })  # fmt: skip
    try:
        consumer.assign([TopicPartition(ref.topic, ref.partition, ref.offset)])
        message = consumer.poll(READ_TIMEOUT_S)
        if message is None or message.error() is not None or message.offset() != ref.offset:
            return None
        value = message.value()
        return decoded(serde, value) if value else None
    finally:
        consumer.close()


def journal_of(serde: Serde, agent: str, run_id: str) -> RunJournal | None:
    """The run's journal, while its retention keeps it."""
    try:
        return read_journals(serde, agent).get(run_id)
    except Exception:  # no journal topic (not durable), or it is gone: the audit is all
        return None


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
