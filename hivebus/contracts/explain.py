"""Why one Avro schema cannot read another, field by field, in words a schema author acts on.

A registry answers only yes or no (Apicurio adds a JSON pointer). avro's
`ReaderWriterCompatibilityChecker` knows the reason for each type; this module walks the records
itself so every reason is tied to a dotted field name.

`direction` says which side is the local (new) schema: BACKWARD means the new schema reads what
was written before; FORWARD means existing readers read what the new schema writes.
"""

from __future__ import annotations

from typing import Literal

import avro.schema
from avro.compatibility import (
    ReaderWriterCompatibilityChecker,
    SchemaCompatibilityResult,
    SchemaCompatibilityType,
    SchemaIncompatibilityType,
    lookup_writer_field,
    schema_name_equals,
)

Direction = Literal["BACKWARD", "FORWARD"]
BACKWARD: Direction = "BACKWARD"
FORWARD: Direction = "FORWARD"


def explain(reader: str, writer: str, direction: Direction) -> list[str]:
    """Every reason `reader` cannot read data written with `writer` ([] when it can)."""
    return _walk(avro.schema.parse(reader), avro.schema.parse(writer), "", direction)


def _walk(
    reader: avro.schema.Schema, writer: avro.schema.Schema, path: str, d: Direction
) -> list[str]:
    ours, theirs = _record(reader), _record(writer)
    if ours and theirs and ours[1] == theirs[1] and schema_name_equals(ours[0], theirs[0]):
        return _fields(ours[0], theirs[0], path, d)
    checker = ReaderWriterCompatibilityChecker()  # type: ignore[no-untyped-call]
    result = checker.get_compatibility(reader, writer)
    if result.compatibility is SchemaCompatibilityType.compatible:
        return []
    return [_describe(path, reader, writer, result, d)]


def _fields(
    reader: avro.schema.RecordSchema, writer: avro.schema.RecordSchema, path: str, d: Direction
) -> list[str]:
    reasons: list[str] = []
    for field in reader.fields:
        where = f"{path}.{field.name}" if path else field.name
        written = lookup_writer_field(writer, field)
        if written is not None:
            reasons += _walk(field.type, written.type, where, d)
        elif not field.has_default:
            reasons.append(_missing(where, d))
    return reasons


def _missing(where: str, d: Direction) -> str:
    if d == BACKWARD:
        return f"field '{where}' has no default, so records written before it cannot be read"
    return (
        f"field '{where}' was removed, and the registered schema gives it no default, "
        "so its readers cannot read new records"
    )


def _record(schema: avro.schema.Schema) -> tuple[avro.schema.RecordSchema, bool] | None:
    """(the record, nullable?) for a record or a `[null, record]` union, so both are walked."""
    if isinstance(schema, avro.schema.RecordSchema):
        return schema, False
    if isinstance(schema, avro.schema.UnionSchema):
        others = [branch for branch in schema.schemas if branch.type != "null"]
        nullable = len(others) == len(schema.schemas) - 1
        if len(others) == 1 and nullable and isinstance(others[0], avro.schema.RecordSchema):
            return others[0], True
    return None


def _describe(
    path: str,
    reader: avro.schema.Schema,
    writer: avro.schema.Schema,
    result: SchemaCompatibilityResult,
    d: Direction,
) -> str:
    what = f"field '{path}'" if path else "the record"
    kinds = set(result.incompatibilities)
    root = result.locations <= {"", "/"}
    if kinds == {SchemaIncompatibilityType.type_mismatch} and root:
        return _retyped(what, reader, writer, d)
    if kinds == {SchemaIncompatibilityType.missing_enum_symbols}:
        symbols = ", ".join(sorted(set(_symbols(writer)) - set(_symbols(reader))))
        if d == BACKWARD:
            return (
                f"{what}: enum symbols {symbols} were removed, so records using them are unreadable"
            )
        return f"{what}: new enum symbols {symbols} cannot be read by existing readers"
    if kinds == {SchemaIncompatibilityType.name_mismatch} and result.locations <= {"/", "/name"}:
        old, new = (writer, reader) if d == BACKWARD else (reader, writer)
        return f"{what} changed name from {_name(old)} to {_name(new)}"
    detail = "; ".join(sorted(result.messages))
    labels = ", ".join(sorted(kind.value.replace("_", " ") for kind in kinds))
    return f"{what}: {labels} at {', '.join(sorted(result.locations))} ({detail})"


def _retyped(
    what: str, reader: avro.schema.Schema, writer: avro.schema.Schema, d: Direction
) -> str:
    if d == BACKWARD:
        old, new = _name(writer), _name(reader)
        return (
            f"{what} changed type from {old} to {new}, which cannot read the {old} written before"
        )
    old, new = _name(reader), _name(writer)
    return f"{what} changed type from {old} to {new}, which existing readers of {old} cannot read"


def _symbols(schema: avro.schema.Schema) -> list[str]:
    return list(schema.symbols) if isinstance(schema, avro.schema.EnumSchema) else []


def _name(schema: avro.schema.Schema) -> str:
    """A type in Avro's own notation: `double`, `com.acme.Money`, `array<string>`."""
    if isinstance(schema, avro.schema.NamedSchema):
        return str(schema.fullname)
    if isinstance(schema, avro.schema.UnionSchema):
        return "[" + ", ".join(_name(branch) for branch in schema.schemas) + "]"
    if isinstance(schema, avro.schema.ArraySchema):
        return f"array<{_name(schema.items)}>"
    if isinstance(schema, avro.schema.MapSchema):
        return f"map<{_name(schema.values)}>"
    logical = schema.props.get("logicalType")
    return f"{schema.type} ({logical})" if logical else str(schema.type)
