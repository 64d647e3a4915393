"""Sensitive fields stay out of the audit.

A contract marks a field with an extra attribute, which Avro keeps and ignores:
`{"name": "account", "type": "string", "sensitive": true}`. Wherever the audit writes a record
(an input or output payload, a step result holding records) the values of such fields, in
nested records, arrays and maps too, are replaced by `[redacted]`. The text values of those
fields (of 4 characters or more) are also scrubbed from the free text of the same handling:
LLM prompts and replies, step results that are not records, error messages. Text that never
passed through a contract (a secret a tool fetched itself) cannot be known to be sensitive.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import json
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel

from hivebus.contracts import Record

REDACTED = "[redacted]"
MIN_SCRUBBED = 4  # shorter values ("FR", "1") would scrub unrelated text
_FLAG = "sensitive"

# A mask says where the sensitive values of one Avro type are: True (the whole value),
# {"fields": {name: mask}} for a record, {"items": mask} for an array, {"values": mask} for
# a map. None: nothing sensitive in it.
Mask = Literal[True] | dict[str, Any] | None
_BY_MODEL: dict[type[Record], Mask] = {}


def mask_of(schema: Any, named: dict[str, Any] | None = None) -> Mask:
    """The mask of an Avro schema (a parsed JSON schema, as in an .avsc file)."""
    return _mask(schema, {} if named is None else named, set(), "")


def model_mask(model: type[Record]) -> Mask:
    """The mask of a contract's Python face, worked out once per class."""
    if model not in _BY_MODEL:
        contract = model.contract_or_none()
        _BY_MODEL[model] = mask_of(contract.schema) if contract is not None else None
    return _BY_MODEL[model]


def _mask(schema: Any, named: dict[str, Any], seen: set[str], space: str) -> Mask:
    if isinstance(schema, str):
        found = named.get(schema) or named.get(f"{space}.{schema}")
        if found is None or schema in seen:  # a primitive, or a record inside itself
            return None
        return _mask(found, named, seen | {schema}, space)
    if isinstance(schema, list):  # a union: the masks of its records, merged
        fields: dict[str, Any] = {}
        for branch in schema:
            found = _mask(branch, named, seen, space)
            if found is True:
                return True
            if isinstance(found, dict):
                fields.update(found.get("fields", {}))
        return {"fields": fields} if fields else None
    if not isinstance(schema, dict):
        return None
    kind = schema.get("type")
    if kind == "record":
        space = schema.get("namespace", space)
        name = schema.get("name", "")
        fullname = name if "." in name else f"{space}.{name}".strip(".")
        named[fullname] = named[name] = schema
        masks = {}
        for field in schema.get("fields", []):
            inner = (
                True
                if field.get(_FLAG) is True
                else _mask(field["type"], named, seen | {fullname}, space)
            )
            if inner is not None:
                masks[field["name"]] = inner
        return {"fields": masks} if masks else None
    if kind == "array":
        items = _mask(schema.get("items"), named, seen, space)
        return {"items": items} if items is not None else None
    if kind == "map":
        values = _mask(schema.get("values"), named, seen, space)
        return {"values": values} if values is not None else None
    if isinstance(kind, dict | list):
        return _mask(kind, named, seen, space)
    return None


def redact(data: Any, mask: Mask) -> Any:
    """A copy of Avro-shaped `data` (what `Record.to_avro` or a decoder gives) with the values
    `mask` marks replaced by `[redacted]`."""
    if mask is None or data is None:
        return data
    if mask is True:
        return REDACTED
    if "fields" in mask and isinstance(data, Mapping):
        fields = mask["fields"]
        return {k: redact(v, fields[k]) if k in fields else v for k, v in data.items()}
    if "items" in mask and isinstance(data, list | tuple):
        return [redact(item, mask["items"]) for item in data]
    if "values" in mask and isinstance(data, Mapping):
        return {k: redact(v, mask["values"]) for k, v in data.items()}
    return data


def sensitive_values(data: Any, mask: Mask, into: set[str] | None = None) -> set[str]:
    """The text values (of 4 characters or more) that `mask` marks in `data`."""
    found = set() if into is None else into
    if mask is None or data is None:
        return found
    if mask is True:
        for text in _texts(data):
            if len(text) >= MIN_SCRUBBED:
                found.add(text)
    elif "fields" in mask and isinstance(data, Mapping):
        for name, inner in mask["fields"].items():
            sensitive_values(data.get(name), inner, found)
    elif "items" in mask and isinstance(data, list | tuple):
        for item in data:
            sensitive_values(item, mask["items"], found)
    elif "values" in mask and isinstance(data, Mapping):
        for item in data.values():
            sensitive_values(item, mask["values"], found)
    return found


def _texts(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield str(value)
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _texts(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _texts(item)


def scrub(text: str, values: Iterable[str]) -> str:
    """`text` with every one of `values` replaced by `[redacted]`, longest first."""
    for value in sorted(values, key=len, reverse=True):
        if value in text:
            text = text.replace(value, REDACTED)
    return text


def plain(value: Any) -> Any:
    """Any value a handler or step deals in as JSON data, every `Record` in it redacted."""
    if isinstance(value, Record):
        return redact(_jsonable(value.to_avro()), model_mask(type(value)))
    if isinstance(value, BaseModel):
        return {name: plain(getattr(value, name)) for name in type(value).model_fields}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(item) for item in value]
    return _jsonable(value)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, enum.Enum):
        return _jsonable(value.value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(item) for item in value]
    return str(value)  # datetimes, UUIDs, decimals: as they print


def scrub_data(data: Any, values: Iterable[str]) -> Any:
    """`scrub` applied to every text in JSON data (keys and numbers are left as they are)."""
    wanted = sorted(values, key=len, reverse=True)
    if not wanted:
        return data

    def walk(item: Any) -> Any:
        if isinstance(item, str):
            return scrub(item, wanted)
        if isinstance(item, dict):
            return {k: walk(v) for k, v in item.items()}
        if isinstance(item, list):
            return [walk(v) for v in item]
        return item

    return walk(data)


def to_json(value: Any, scrubbed: Iterable[str] = ()) -> str:
    """`plain(value)` as compact JSON, with the handling's sensitive values scrubbed."""
    data = scrub_data(plain(value), scrubbed)
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str)


def record_secrets(record: Record, into: set[str]) -> None:
    """Add the sensitive text values of `record` to `into` (nothing for most contracts)."""
    mask = model_mask(type(record))
    if mask is not None:
        sensitive_values(record.to_avro(), mask, into)
