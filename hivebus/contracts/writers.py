"""Writer schemas: what a schema id in a value's header means, as the registry knows it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import fastavro
from confluent_kafka.schema_registry import SchemaRegistryClient, SchemaRegistryError

from hivebus.contracts.compat import NOT_FOUND
from hivebus.contracts.errors import (
    NOT_AVRO,
    UNKNOWN_SCHEMA_ID,
    UNSUPPORTED_SCHEMA,
    UndecodableRecord,
)
from hivebus.contracts.outage import registry_call


@dataclass(frozen=True, slots=True)
class WriterSchema:
    """The schema a value was written with, as the registry knows it by id."""

    schema_id: int
    fullname: str
    parsed: Any
    schema_str: str


def fetch_writer(client: SchemaRegistryClient, schema_id: int) -> WriterSchema:
    """Ask the registry for `schema_id` (blocking I/O).

    `UndecodableRecord` when the registry does not know the id (404) or the schema is not one
    fastavro reads; `RegistryUnavailable` when the registry does not answer or fails.
    """
    try:
        with registry_call(client, f"fetching schema id {schema_id}"):
            schema = client.get_schema(schema_id)
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
    return WriterSchema(schema_id, fullname, parsed, text)
