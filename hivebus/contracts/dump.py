"""Turning a model into the dict fastavro writes, at the cost of one pydantic dump.

`model_dump` keeps Enum members; Avro wants symbol strings. Rather than walk every dump, each
model class learns once which of its fields can hold an Enum (at any depth) and only those
values are converted.
"""

from __future__ import annotations

import typing
from enum import Enum
from typing import Any

from pydantic import BaseModel

from hivebus.contracts.typemap import strip


def enum_keys(model: type[BaseModel]) -> tuple[str, ...]:
    """The dump keys of `model` whose values may contain Enum members."""
    return tuple(
        info.alias or name
        for name, info in model.model_fields.items()
        if mentions_enum(info.annotation, set())
    )


def mentions_enum(annotation: Any, seen: set[type]) -> bool:
    """Whether an Enum can appear anywhere inside a value of this annotation."""
    annotation = strip(annotation)
    if isinstance(annotation, type) and not typing.get_args(annotation):
        if issubclass(annotation, Enum):
            return True
        if issubclass(annotation, BaseModel) and annotation not in seen:
            seen.add(annotation)
            fields = annotation.model_fields.values()
            return any(mentions_enum(info.annotation, seen) for info in fields)
        return False
    return any(mentions_enum(arg, seen) for arg in typing.get_args(annotation))


def plain(value: Any) -> Any:
    """`value` with every Enum member replaced by its value, through lists and dicts."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value
