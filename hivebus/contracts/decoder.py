"""Decoding the values one writer schema wrote as one reader model, once the pair is settled.

A `Decoder` holds everything decided once per (schema id, reader model): the writer and reader
schemas (no reader when both are the same, so fastavro skips resolution) and the model's
validator. Decoding is then one fastavro read and one pydantic validation.
"""

from __future__ import annotations

from io import BytesIO
from typing import Any, Generic, TypeVar

import fastavro
from fastavro.read import SchemaResolutionError
from pydantic import ValidationError

from hivebus.contracts.errors import (
    INCOMPATIBLE_SCHEMA,
    INVALID_RECORD,
    TRUNCATED_AVRO,
    UndecodableRecord,
)
from hivebus.contracts.record import Record
from hivebus.contracts.wire import HEADER_SIZE

R = TypeVar("R", bound=Record)

MAX_DETAIL = 300  # details travel in DLQ headers: keep them readable
# What fastavro raises on bytes that end early or are not what the schema says.
_CORRUPT = (EOFError, IndexError, ValueError, OverflowError, MemoryError, KeyError, StopIteration)


class Decoder(Generic[R]):
    """Decodes values framed with one schema id as `model`."""

    __slots__ = ("_reader", "_validate", "_writer", "model", "schema_id")

    def __init__(self, schema_id: int, model: type[R], writer: Any, reader: Any) -> None:
        self.schema_id, self.model = schema_id, model
        self._writer, self._reader = writer, reader
        self._validate = model.__pydantic_validator__.validate_python

    def decode(self, value: bytes) -> R:
        """`value` (framed with this decoder's schema id) as a `model`."""
        data = read_avro(value, self._writer, self._reader)
        try:
            record: R = self._validate(data)
        except ValidationError as exc:
            raise UndecodableRecord(
                INVALID_RECORD,
                f"not a valid {self.model.__qualname__}: {str(exc)[:MAX_DETAIL]}",
            ) from exc
        return record


def read_avro(value: bytes, writer: Any, reader: Any) -> Any:
    """The Avro body after the wire header, as fastavro reads it (resolved to `reader`)."""
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
