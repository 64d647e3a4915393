"""Event values <-> `Record`s, in Confluent wire format, through the schema registry.

The hot path costs one fastavro encode or decode plus one pydantic dump or validate per event.
Everything else — subjects, schema ids, writer schemas, the (writer id, reader model) pairing —
is settled once and cached. Registry calls happen only on a cache miss (a new topic/model pair
to encode, a schema id never seen before); a registry that is down raises its own error, not
`UndecodableRecord`, because the record itself is fine and a retry will read it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from io import BytesIO
from typing import Any, TypeVar

import fastavro
from confluent_kafka.schema_registry import SchemaRegistryClient, SchemaRegistryError
from fastavro.read import SchemaResolutionError
from pydantic import ValidationError

from hivebus.contracts.compat import NOT_FOUND
from hivebus.contracts.contract import Contract
from hivebus.contracts.errors import (
    INCOMPATIBLE_SCHEMA,
    INVALID_RECORD,
    NOT_AVRO,
    TRUNCATED_AVRO,
    UNKNOWN_SCHEMA_ID,
    UNSUPPORTED_SCHEMA,
    ContractError,
    UndecodableRecord,
)
from hivebus.contracts.record import Record
from hivebus.contracts.registry import lookup_id, register
from hivebus.contracts.subjects import subject_for
from hivebus.contracts.wire import HEADER_SIZE, MAGIC, frame_header, schema_id_of

__all__ = ["Encoder", "Serde", "UndecodableRecord", "WriterSchema"]

R = TypeVar("R", bound=Record)

# What fastavro raises on bytes that end early or are not what the schema says.
MAX_DETAIL = 300  # details travel in DLQ headers: keep them readable

_CORRUPT = (EOFError, IndexError, ValueError, OverflowError, MemoryError, KeyError, StopIteration)


@dataclass(frozen=True, slots=True)
class WriterSchema:
    """The schema a value was written with, as the registry knows it by id."""

    schema_id: int
    fullname: str
    parsed: Any
    schema_str: str


class Encoder:
    """Encodes one model for one topic; its subject and schema id were settled when made."""

    __slots__ = ("_header", "_parsed", "model", "schema_id", "subject", "topic")

    def __init__(
        self, topic: str, subject: str, schema_id: int, model: type[Record], parsed: Any
    ) -> None:
        self.topic, self.subject, self.schema_id, self.model = topic, subject, schema_id, model
        self._header = frame_header(schema_id)
        self._parsed = parsed

    def encode(self, record: Record) -> bytes:
        """Magic byte, schema id, then the Avro binary of `record.to_avro()`."""
        if not isinstance(record, self.model):
            raise ContractError(
                f"this encoder writes {self.model.__qualname__} to {self.topic}, "
                f"not {type(record).__qualname__}"
            )
        out = BytesIO()
        out.write(self._header)
        try:
            fastavro.schemaless_writer(out, self._parsed, record.to_avro())
        except (ValueError, TypeError, KeyError) as exc:
            raise ContractError(
                f"{type(record).__qualname__} cannot be written as {self.model.fullname}: {exc}"
            ) from exc
        return out.getvalue()


class Serde:
    """One per process (or per registry): caches subjects, ids and writer schemas for all."""

    def __init__(self, registry: SchemaRegistryClient, *, auto_register: bool = True) -> None:
        self.registry = registry
        self.auto_register = auto_register
        self._encoders: dict[tuple[str, type[Record], bool], Encoder] = {}
        self._writers: dict[int, WriterSchema] = {}
        # (the 4 schema-id bytes, reader model) -> (writer schema, reader schema or None)
        self._pairs: dict[tuple[bytes, type[Record]], tuple[Any, Any]] = {}

    def encoder(self, topic: str, model: type[Record], *, multi_type: bool = False) -> Encoder:
        """The encoder of `model` on `topic`, registering (or looking up) its schema once."""
        key = (topic, model, multi_type)
        if (found := self._encoders.get(key)) is not None:
            return found
        contract = model.contract()
        subject = subject_for(topic, contract.fullname, multi_type=multi_type)
        if self.auto_register:
            schema_id = register(self.registry, contract, topic, multi_type=multi_type)
        else:
            schema_id = lookup_id(self.registry, contract, subject)
        self._writers.setdefault(
            schema_id,
            WriterSchema(schema_id, contract.fullname, contract.parsed, contract.schema_str),
        )
        encoder = self._encoders[key] = Encoder(topic, subject, schema_id, model, contract.parsed)
        return encoder

    def writer(self, value: bytes) -> WriterSchema:
        """The schema `value` was written with; `UndecodableRecord` if unframed or unknown."""
        schema_id = schema_id_of(value)
        found = self._writers.get(schema_id)
        return found if found is not None else self._fetch(schema_id)

    def decode(self, value: bytes, reader: type[R]) -> R:
        """`value` as a `reader`, resolving from whatever compatible schema wrote it."""
        if len(value) < HEADER_SIZE or value[0] != MAGIC:
            schema_id_of(value)  # raises the precise framing error
        pair = self._pairs.get((value[1:HEADER_SIZE], reader)) or self._pair(value, reader)
        data = _read(value, *pair)
        try:
            return reader.from_avro(data)
        except ValidationError as exc:
            raise UndecodableRecord(
                INVALID_RECORD, f"not a valid {reader.__qualname__}: {str(exc)[:MAX_DETAIL]}"
            ) from exc

    def decode_any(self, value: bytes) -> tuple[WriterSchema, dict[str, Any]]:
        """`value` as a plain dict in its writer's schema, for tools that know no models."""
        writer = self.writer(value)
        return writer, _read(value, writer.parsed, None)

    def _pair(self, value: bytes, reader: type[Record]) -> tuple[Any, Any]:
        writer = self.writer(value)
        contract = reader.contract()
        if not _same_record(writer.fullname, contract):
            raise UndecodableRecord(
                INCOMPATIBLE_SCHEMA,
                f"written as {writer.fullname} (schema id {writer.schema_id}), "
                f"but read as {contract.fullname} by {reader.__qualname__}",
            )
        # Same schema on both sides: skip Avro resolution entirely.
        same = json.loads(writer.schema_str) == contract.schema
        pair = (writer.parsed, None if same else contract.parsed)
        self._pairs[value[1:HEADER_SIZE], reader] = pair
        return pair

    def _fetch(self, schema_id: int) -> WriterSchema:
        try:
            schema = self.registry.get_schema(schema_id)
        except SchemaRegistryError as exc:
            if exc.http_status_code != NOT_FOUND:
                raise
            raise UndecodableRecord(
                UNKNOWN_SCHEMA_ID, f"schema id {schema_id} is not in the registry"
            ) from exc
        if (schema.schema_type or "AVRO") != "AVRO":
            raise UndecodableRecord(NOT_AVRO, f"schema id {schema_id} is {schema.schema_type}")
        text = schema.schema_str or ""
        try:
            parsed: Any = fastavro.parse_schema(json.loads(text))
        except Exception as exc:  # references to other subjects, or a schema fastavro rejects
            raise UndecodableRecord(UNSUPPORTED_SCHEMA, f"schema id {schema_id}: {exc}") from exc
        named = isinstance(parsed, dict)
        fullname = str(parsed.get("name") or parsed.get("type")) if named else str(parsed)
        writer = WriterSchema(schema_id, fullname, parsed, text)
        self._writers[schema_id] = writer
        return writer


def _same_record(written: str, contract: Contract) -> bool:
    """Avro resolution matches records by full name, or by an alias the reader declares."""
    aliases = contract.schema.get("aliases") or []
    return written == contract.fullname or written in aliases or written.rsplit(".")[-1] in aliases


def _read(value: bytes, writer: Any, reader: Any) -> Any:
    stream = BytesIO(value)
    stream.seek(HEADER_SIZE)
    try:
        return fastavro.schemaless_reader(stream, writer, reader)
    except SchemaResolutionError as exc:
        raise UndecodableRecord(INCOMPATIBLE_SCHEMA, str(exc)[:MAX_DETAIL]) from exc
    except _CORRUPT as exc:
        raise UndecodableRecord(
            TRUNCATED_AVRO,
            f"{type(exc).__name__} after the {HEADER_SIZE}-byte header: {str(exc)[:MAX_DETAIL]}",
        ) from exc
