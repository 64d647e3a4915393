"""Event values <-> `Record`s, in Confluent wire format, through the schema registry.

The hot path costs one fastavro encode or decode plus one pydantic dump or validate per event.
Everything else — subjects, schema ids, writer schemas, the (writer id, reader model) pairing —
is settled once and cached. Registry calls happen only on a cache miss (a new topic/model pair
to encode, a schema id never seen before); a registry that is down raises `RegistryUnavailable`,
not `UndecodableRecord`, because the record itself is fine and a retry will read it.

Code on an event loop settles misses with the async faces (`writer_async`, `encoder_async`),
which call the registry in a thread and give up after a timeout; once they have answered,
`decode` and `Encoder.encode` of those schemas never do I/O. The sync faces are for tools.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any, TypeVar

from confluent_kafka.schema_registry import SchemaRegistryClient

from hivebus.contracts.contract import Contract
from hivebus.contracts.decoder import Decoder, read_avro
from hivebus.contracts.encoder import Encoder
from hivebus.contracts.errors import INCOMPATIBLE_SCHEMA, UndecodableRecord
from hivebus.contracts.lookups import Lookups
from hivebus.contracts.record import Record
from hivebus.contracts.registry import DEFAULT_TIMEOUT_S, lookup_id, register
from hivebus.contracts.subjects import subject_for
from hivebus.contracts.wire import HEADER_SIZE, MAGIC, schema_id_of
from hivebus.contracts.writers import WriterSchema, fetch_writer

__all__ = ["Decoder", "Encoder", "Serde", "UndecodableRecord", "WriterSchema"]

R = TypeVar("R", bound=Record)


class Serde:
    """One per process (or per registry): caches subjects, ids and writer schemas for all."""

    def __init__(
        self,
        registry: SchemaRegistryClient,
        *,
        auto_register: bool = True,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self.registry = registry
        self.auto_register = auto_register
        self._lookups = Lookups(registry, timeout_s)  # the async faces' default timeout
        self._encoders: dict[tuple[str, type[Record], bool], Encoder] = {}
        self._writers: dict[int, WriterSchema] = {}
        # (the 4 schema-id bytes, reader model) -> its decoder
        self._decoders: dict[tuple[bytes, type[Record]], Decoder[Any]] = {}

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
        decoder = self._decoders.get((value[1:HEADER_SIZE], reader))
        if decoder is None:
            decoder = self.decoder(self.writer(value), reader)
        record: R = decoder.decode(value)
        return record

    def decode_any(self, value: bytes) -> tuple[WriterSchema, dict[str, Any]]:
        """`value` as a plain dict in its writer's schema, for tools that know no models."""
        writer = self.writer(value)
        return writer, read_avro(value, writer.parsed, None)

    def decoder(self, writer: WriterSchema, reader: type[R]) -> Decoder[R]:
        """The decoder of values `writer` wrote, as `reader`; `UndecodableRecord` when the
        writer's record is not the reader's (by full name or a declared alias)."""
        key = (writer.schema_id.to_bytes(4, "big"), reader)
        if (found := self._decoders.get(key)) is not None:
            return found
        contract = reader.contract()
        if not _same_record(writer.fullname, contract):
            raise UndecodableRecord(
                INCOMPATIBLE_SCHEMA,
                f"written as {writer.fullname} (schema id {writer.schema_id}), "
                f"but read as {contract.fullname} by {reader.__qualname__}",
            )
        # Same schema on both sides: skip Avro resolution entirely.
        resolve = json.loads(writer.schema_str) != contract.schema
        decoder = Decoder(
            writer.schema_id, reader, writer.parsed, contract.parsed if resolve else None
        )
        self._decoders[key] = decoder
        return decoder

    def _fetch(self, schema_id: int) -> WriterSchema:
        writer = self._writers[schema_id] = fetch_writer(self.registry, schema_id)
        return writer

    # Async faces: for code on an event loop. Registry calls run in a thread, bounded in time.

    def cached_encoder(
        self, topic: str, model: type[Record], *, multi_type: bool = False
    ) -> Encoder | None:
        """The encoder of `model` on `topic` if it is settled already; never calls the registry."""
        return self._encoders.get((topic, model, multi_type))

    async def encoder_async(
        self,
        topic: str,
        model: type[Record],
        *,
        multi_type: bool = False,
        timeout_s: float | None = None,
    ) -> Encoder:
        """`encoder` with its registry calls in a thread; `RegistryUnavailable` past the timeout."""
        key = (topic, model, multi_type)
        if (found := self._encoders.get(key)) is not None:
            return found
        action = f"settling the schema of {model.__qualname__} on {topic}"
        settle = partial(self.encoder, topic, model, multi_type=multi_type)
        return await self._lookups.run(("encoder", *key), settle, action, timeout_s)

    def cached_writer(self, value: bytes) -> WriterSchema | None:
        """The writer schema of `value` if it is cached, else None; never calls the registry.

        `UndecodableRecord` when `value` is not framed (too short, bad magic byte).
        """
        return self._writers.get(schema_id_of(value))

    async def writer_async(self, value: bytes, *, timeout_s: float | None = None) -> WriterSchema:
        """`writer` with its registry call in a thread; `RegistryUnavailable` past the timeout."""
        schema_id = schema_id_of(value)
        if (found := self._writers.get(schema_id)) is not None:
            return found
        action = f"fetching schema id {schema_id}"
        return await self._lookups.run(
            ("writer", schema_id), partial(self._fetch, schema_id), action, timeout_s
        )

    async def reachable(self, timeout_s: float = 2.0) -> bool:
        """True when the registry answers a cheap request within `timeout_s`: for readiness."""
        return await self._lookups.reachable(timeout_s)


def _same_record(written: str, contract: Contract) -> bool:
    """Avro resolution matches records by full name, or by an alias the reader declares."""
    aliases = contract.schema.get("aliases") or []
    return written == contract.fullname or written in aliases or written.rsplit(".")[-1] in aliases
