"""A task's JSON input checked against the agent's Avro contract, field by field.

fastavro's own validation names a failing field by its record's full name
(`x.Payment.amount`), which a client who wrote `{"amount": ...}` has to translate; this walk
names it by its path in the JSON (`amount`, `items[2].sku`), and turns JSON into what the
Avro writer takes (bytes and fixed from Avro's JSON encoding: one character per byte).
Unknown keys are refused by `hivebus.contracts.strict` before this runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from hivebus.contracts import Contract

_INTS = {"int": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
_JSON_NAMES = {
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    list: "array",
    dict: "object",
    type(None): "null",
}


class InvalidInput(ValueError):
    """The input does not fit the contract at `path` ("" for the whole value)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"field '{path}': {message}" if path else message)
        self.path = path


def avro_datum(value: Any, contract: Contract) -> Any:
    """`value` as the Avro writer takes it for `contract`; InvalidInput names what is wrong."""
    named: dict[str, Any] = contract.parsed.get("__named_schemas", {})
    return _Walk(named).convert(value, contract.parsed, "")


class _Walk:
    def __init__(self, named: dict[str, Any]) -> None:
        self._named = named

    def convert(self, value: Any, schema: Any, path: str) -> Any:
        schema = self._named.get(schema, schema) if isinstance(schema, str) else schema
        if isinstance(schema, list):
            return self._union(value, schema, path)
        kind = schema.get("type") if isinstance(schema, dict) else schema
        if isinstance(kind, dict | list):  # {"type": {"type": "array", ...}}
            return self.convert(value, kind, path)
        logical = schema.get("logicalType") if isinstance(schema, dict) else None
        if kind in ("record", "error"):
            return self._record(value, schema, path)
        if kind == "array":
            items = _expect(value, list, "an array", path)
            return [self.convert(v, schema["items"], f"{path}[{i}]") for i, v in enumerate(items)]
        if kind == "map":
            entries = _expect(value, dict, "an object", path)
            return {
                k: self.convert(v, schema["values"], f"{path}[{k!r}]") for k, v in entries.items()
            }
        if kind == "enum":
            if value not in schema["symbols"]:
                raise InvalidInput(path, f"expected one of {schema['symbols']}, got {value!r}")
            return value
        if kind in ("bytes", "fixed") and logical == "decimal":
            return _decimal(value, path)
        if kind in ("bytes", "fixed"):
            return _bytes(value, schema.get("size") if kind == "fixed" else None, path)
        return _primitive(value, str(kind), path)

    def _record(self, value: Any, schema: dict[str, Any], path: str) -> dict[str, Any]:
        fields = _expect(value, dict, f"an object ({schema['name']})", path)
        out: dict[str, Any] = {}
        for spec in schema["fields"]:
            name, where = spec["name"], f"{path}.{spec['name']}" if path else spec["name"]
            if name in fields:
                out[name] = self.convert(fields[name], spec["type"], where)
            elif "default" not in spec:
                raise InvalidInput(where, "is required and missing")
        return out

    def _union(self, value: Any, branches: list[Any], path: str) -> Any:
        if isinstance(value, Mapping) and len(value) == 1:  # Avro JSON: {"string": "x"}
            [(tag, inner)] = value.items()
            tagged = next((b for b in branches if _branch_name(b) == tag), None)
            if tagged is not None:
                return self.convert(inner, tagged, path)
        for branch in branches:
            try:
                return self.convert(value, branch, path)
            except InvalidInput as error:
                # The value has the branch's shape but something inside it is wrong: say what.
                if error.path != path and _fits_shape(value, self._named.get(branch, branch)):
                    raise
        names = ", ".join(_branch_name(b) for b in branches)
        raise InvalidInput(path, f"expected one of [{names}], got {_json_name(value)}")


def _expect(value: Any, kind: type, what: str, path: str) -> Any:
    if not isinstance(value, kind):
        raise InvalidInput(path, f"expected {what}, got {_json_name(value)}")
    return value


def _primitive(value: Any, kind: str, path: str) -> Any:
    if kind == "null":
        ok = value is None
    elif kind == "boolean":
        ok = isinstance(value, bool)
    elif kind in _INTS:
        low, high = _INTS[kind]
        ok = isinstance(value, int) and not isinstance(value, bool)
        if ok and not low <= value <= high:
            raise InvalidInput(path, f"{value} is out of range for {kind}")
    elif kind in ("float", "double"):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif kind == "string":
        ok = isinstance(value, str)
    else:
        raise InvalidInput(path, f"the contract's type {kind!r} is not supported here")
    if not ok:
        raise InvalidInput(path, f"expected {kind}, got {_json_name(value)}")
    return float(value) if kind in ("float", "double") else value


def _bytes(value: Any, size: int | None, path: str) -> bytes:
    text = _expect(value, str, "a string (bytes, one character per byte)", path)
    try:
        data: bytes = text.encode("latin-1")
    except UnicodeEncodeError:
        message = "bytes are written one character (U+0000 to U+00FF) per byte"
        raise InvalidInput(path, message) from None
    if size is not None and len(data) != size:
        raise InvalidInput(path, f"expected {size} bytes, got {len(data)}")
    return data


def _decimal(value: Any, path: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidInput(path, f"expected a decimal number, got {_json_name(value)}")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise InvalidInput(path, f"{value!r} is not a decimal number") from None


def _branch_name(branch: Any) -> str:
    if isinstance(branch, dict):
        return str(branch.get("name") or branch.get("type"))
    return str(branch)


def _fits_shape(value: Any, schema: Any) -> bool:
    """Whether `value` has the JSON shape of `schema` (an object for a record, ...)."""
    kind = schema.get("type") if isinstance(schema, dict) else schema
    shapes = {"record": dict, "error": dict, "map": dict, "array": list}
    return kind in shapes and isinstance(value, shapes[kind])


def _json_name(value: Any) -> str:
    return _JSON_NAMES.get(type(value), type(value).__name__)
