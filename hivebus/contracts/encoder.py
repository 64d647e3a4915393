"""Encoding one model for one topic, once its subject and schema id are settled."""

from __future__ import annotations

from io import BytesIO
from typing import Any

import fastavro

from hivebus.contracts.errors import ContractError
from hivebus.contracts.record import Record
from hivebus.contracts.wire import frame_header


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
