"""Fields a plain value has that its contract does not: what fastavro would silently drop.

fastavro writes a record from the schema's fields and ignores every other key, so a JSON value
with a misspelt field name (`devcie_id`) encodes without error, the real field taking its
default. Code that turns user-written JSON into an event checks the value here first; `Record`
models are not affected (they never carry keys their contract lacks into the wire).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hivebus.contracts.contract import Contract

# fastavro accepts this key in any record to name the union branch it is written as.
TYPE_KEY = "-type"


@dataclass(frozen=True)
class UnknownField:
    """Key `key` of the record at dotted `parent` ("" for the top level): no such field there."""

    parent: str
    key: str
    record: str
    known: tuple[str, ...]

    @property
    def path(self) -> str:
        return f"{self.parent}.{self.key}" if self.parent else self.key

    @property
    def suggestion(self) -> str | None:
        """The path of the record's field closest to the key, when close enough to be a typo."""
        close = difflib.get_close_matches(self.key, self.known, n=1)
        if not close:
            return None
        return f"{self.parent}.{close[0]}" if self.parent else close[0]

    def describe(self) -> str:
        hint = self.suggestion
        return f"'{self.path}'" + (f" (did you mean '{hint}'?)" if hint else "")


def unknown_fields(value: Any, contract: Contract) -> list[UnknownField]:
    """Every key of `value`, nested records included, that `contract` has no field for."""
    named = contract.parsed.get("__named_schemas", {})
    return _Walker(named).walk(value, contract.parsed, "")


def describe_unknown(contract: Contract, unknown: list[UnknownField]) -> str:
    """One line naming every unknown field and the contract, with a suggestion where one fits."""
    noun = "field" if len(unknown) == 1 else "fields"
    listed = ", ".join(field.describe() for field in unknown)
    return f"{contract.fullname} has no {noun} {listed}"


class _Walker:
    def __init__(self, named: dict[str, Any]) -> None:
        self._named = named

    def walk(self, datum: Any, schema: Any, path: str) -> list[UnknownField]:
        schema = self._resolve(schema)
        if isinstance(schema, list):
            branch = self._branch(datum, schema)
            return [] if branch is None else self.walk(datum, branch, path)
        if not isinstance(schema, dict):
            return []
        kind = schema.get("type")
        if kind in ("record", "error") and isinstance(datum, Mapping):
            return self._record(datum, schema, path)
        if kind == "array" and isinstance(datum, list):
            return [
                found
                for index, item in enumerate(datum)
                for found in self.walk(item, schema["items"], f"{path}[{index}]")
            ]
        if kind == "map" and isinstance(datum, Mapping):
            return [
                found
                for key, item in datum.items()
                for found in self.walk(item, schema["values"], f"{path}[{key!r}]")
            ]
        return []

    def _record(
        self, datum: Mapping[str, Any], schema: dict[str, Any], path: str
    ) -> list[UnknownField]:
        fields = {field["name"]: field for field in schema["fields"]}
        known = tuple(fields)
        found: list[UnknownField] = []
        for key, item in datum.items():
            if key in fields:
                found += self.walk(item, fields[key]["type"], f"{path}.{key}" if path else key)
            elif key != TYPE_KEY:
                found.append(UnknownField(path, str(key), schema["name"], known))
        return found

    def _branch(self, datum: Any, union: list[Any]) -> Any:
        """The union branch fastavro writes `datum` as, when it can be told; else None."""
        branches = [self._resolve(branch) for branch in union]
        if isinstance(datum, list):
            return next((b for b in branches if _kind(b) == "array"), None)
        if not isinstance(datum, Mapping):
            return None
        records = [b for b in branches if _kind(b) in ("record", "error")]
        if TYPE_KEY in datum:
            return next((b for b in records if b["name"] == datum[TYPE_KEY]), None)
        if any(_kind(b) == "map" for b in branches):
            return None  # a dict may be written as the map: its keys are data, not fields
        # Like fastavro: the record sharing the most field names with the value.
        return max(
            records,
            key=lambda b: len({f["name"] for f in b["fields"]} & set(datum)),
            default=None,
        )

    def _resolve(self, schema: Any) -> Any:
        if isinstance(schema, str):
            return self._named.get(schema, schema)
        return schema


def _kind(schema: Any) -> Any:
    return schema.get("type") if isinstance(schema, dict) else schema
