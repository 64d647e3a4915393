"""Drift: a pydantic face that no longer says what its `.avsc` says.

The check runs when a model class is defined, so a face edited without its schema (or the
reverse) fails at import, naming every offending field, instead of on the wire in production.
Field order is not compared: fastavro writes fields in schema order whatever the dict order.
"""

from __future__ import annotations

import json
import typing
import uuid
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from hivebus.contracts.typemap import (
    LOGICAL,
    PRIMITIVES,
    avro_name,
    expected,
    show,
    strip,
    union_args,
)

NONE = type(None)


class DriftChecker:
    """Compares models with Avro records, recursing into nested records once each."""

    def __init__(self, named: dict[str, Any]) -> None:
        self._named = named
        self._seen: set[tuple[type, str]] = set()

    def record(self, model: type[BaseModel], schema: dict[str, Any], prefix: str = "") -> list[str]:
        """Every problem between `model` and the Avro record `schema` (fastavro-parsed form)."""
        if (model, schema["name"]) in self._seen:
            return []
        self._seen.add((model, schema["name"]))
        ours = {info.alias or name: info for name, info in model.model_fields.items()}
        theirs = {field["name"]: field for field in schema["fields"]}
        problems: list[str] = []
        for name, field in theirs.items():
            where = prefix + name
            if name not in ours:
                problems.append(
                    f"field '{where}' ({avro_name(field['type'])}) is in the .avsc "
                    "but missing from the model"
                )
                continue
            problems += self.type(ours[name].annotation, field["type"], where)
            problems += default_problems(ours[name], field, where)
        problems += [
            f"field '{prefix}{name}' is in the model but not in the .avsc"
            for name in ours
            if name not in theirs
        ]
        return problems

    def type(self, annotation: Any, avro: Any, where: str) -> list[str]:
        """Problems between one annotation and one Avro type ([] when they agree)."""
        annotation = strip(annotation)
        if isinstance(avro, str) and avro in self._named:
            avro = self._named[avro]
        if isinstance(avro, list):
            return self._union(annotation, avro, where)
        if isinstance(avro, dict):
            return self._complex(annotation, avro, where)
        wanted = PRIMITIVES.get(avro)
        if annotation is wanted or _literal_of(annotation, wanted):
            return []
        return [self._mismatch(annotation, avro, where)]

    def _complex(self, annotation: Any, avro: dict[str, Any], where: str) -> list[str]:
        kind, logical = avro["type"], avro.get("logicalType")
        args = typing.get_args(annotation)
        origin = typing.get_origin(annotation)
        if logical in LOGICAL:
            fits = annotation is LOGICAL[logical]
        elif kind == "record":
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                return self.record(annotation, avro, f"{where}.")
            fits = False
        elif kind == "enum":
            return _enum_problems(annotation, avro, where)
        elif kind == "array" and origin is list and len(args) == 1:
            return self.type(args[0], avro["items"], f"{where}[]")
        elif kind == "map" and origin is dict and len(args) == 2 and strip(args[0]) is str:
            return self.type(args[1], avro["values"], f"{where}{{}}")
        elif kind in PRIMITIVES:
            return self.type(annotation, kind, where)
        else:
            fits = False
        return [] if fits else [self._mismatch(annotation, avro, where)]

    def _union(self, annotation: Any, branches: list[Any], where: str) -> list[str]:
        members = union_args(annotation) or (annotation,)
        ours = [m for m in members if strip(m) is not NONE]
        theirs = [b for b in branches if b != "null"]
        if (NONE in map(strip, members)) != ("null" in branches) or len(ours) != len(theirs):
            return [self._mismatch(annotation, branches, where)]
        if len(ours) == 1:
            return self.type(ours[0], theirs[0], where)
        # Several non-null branches: each must be matched by a distinct member, in any order.
        unmatched = list(ours)
        for branch in theirs:
            fit = next((m for m in unmatched if not _probe(self._named, m, branch, where)), None)
            if fit is None:
                return [self._mismatch(annotation, branches, where)]
            unmatched.remove(fit)
        return []

    def _mismatch(self, annotation: Any, avro: Any, where: str) -> str:
        return (
            f"field '{where}': the model says {show(annotation)}, the .avsc says "
            f"{avro_name(avro)} (expected {expected(avro, self._named)})"
        )


def _probe(named: dict[str, Any], annotation: Any, avro: Any, where: str) -> list[str]:
    """A trial match that leaves the real checker's memory of visited records untouched."""
    return DriftChecker(named).type(annotation, avro, where)


def _literal_of(annotation: Any, wanted: type | None) -> bool:
    if typing.get_origin(annotation) is not Literal or wanted is None:
        return False
    return all(type(value) is wanted for value in typing.get_args(annotation))


def _enum_problems(annotation: Any, avro: dict[str, Any], where: str) -> list[str]:
    if typing.get_origin(annotation) is Literal:
        values = list(typing.get_args(annotation))
    elif isinstance(annotation, type) and issubclass(annotation, Enum):
        values = [member.value for member in annotation]
    else:
        return [
            f"field '{where}': the model says {show(annotation)}, the .avsc says enum "
            f"{avro['name']} (expected a str Enum or Literal of {', '.join(avro['symbols'])})"
        ]
    if set(values) == set(avro["symbols"]):
        return []
    return [
        f"field '{where}': {show(annotation)} has values {sorted(map(str, values))}, "
        f"the .avsc enum {avro['name']} has symbols {sorted(avro['symbols'])}"
    ]


def default_problems(info: FieldInfo, field: dict[str, Any], where: str) -> list[str]:
    """An Avro default must be the model's default, and only fields with one may have one."""
    if info.is_required():
        if "default" in field:
            return [
                f"field '{where}': the .avsc default is {json.dumps(field['default'])} "
                "but the model field is required"
            ]
        return []
    ours = info.get_default(call_default_factory=True, validated_data={})
    if "default" not in field:
        return [f"field '{where}': the model default is {ours!r} but the .avsc field has none"]
    if jsonish(ours) != field["default"]:
        return [
            f"field '{where}': the .avsc default is {json.dumps(field['default'])} "
            f"but the model default is {ours!r}"
        ]
    return []


def jsonish(value: Any) -> Any:
    """A Python default in the JSON form Avro writes defaults in (bytes as latin-1 text)."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, BaseModel):
        return jsonish(value.model_dump(by_alias=True))
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [jsonish(item) for item in value]
    if isinstance(value, dict):
        return {key: jsonish(item) for key, item in value.items()}
    return value
