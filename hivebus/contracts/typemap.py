"""The Avro -> Python type mapping every pydantic face must follow, in one table.

Logical types map to what fastavro reads them as, because that is what the model will be
validated from: a `uuid` string arrives as `uuid.UUID`, a `timestamp-millis` as `datetime`.
"""

from __future__ import annotations

import datetime
import decimal
import types
import typing
import uuid
from typing import Annotated, Any

PRIMITIVES: dict[str, type] = {
    "null": type(None),
    "boolean": bool,
    "int": int,
    "long": int,
    "float": float,
    "double": float,
    "bytes": bytes,
    "string": str,
    "fixed": bytes,
}

LOGICAL: dict[str, type] = {
    "uuid": uuid.UUID,
    "date": datetime.date,
    "time-millis": datetime.time,
    "time-micros": datetime.time,
    "timestamp-millis": datetime.datetime,
    "timestamp-micros": datetime.datetime,
    "local-timestamp-millis": datetime.datetime,
    "local-timestamp-micros": datetime.datetime,
    "decimal": decimal.Decimal,
}


def strip(annotation: Any) -> Any:
    """Drop `Annotated[...]` wrappers: constraints do not change the wire type."""
    while typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def union_args(annotation: Any) -> tuple[Any, ...] | None:
    """The members of `X | Y` or `Optional[X]`, or None when it is not a union."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return typing.get_args(annotation)
    return None


def show(annotation: Any) -> str:
    """A type as its author wrote it: `int`, `list[str]`, `Kind`."""
    annotation = strip(annotation)
    if annotation is type(None):
        return "None"
    if isinstance(annotation, type) and not typing.get_args(annotation):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def expected(avro: Any, named: dict[str, Any]) -> str:
    """What Python type an Avro type asks for, in words a model author can paste."""
    if isinstance(avro, str):
        if avro in PRIMITIVES:
            return show(PRIMITIVES[avro])
        return expected(named[avro], named) if avro in named else avro
    if isinstance(avro, list):
        ordered = sorted(avro, key=lambda branch: branch == "null")  # `X | None`, as written
        return " | ".join(expected(branch, named) for branch in ordered)
    kind = avro.get("type")
    if avro.get("logicalType") in LOGICAL:
        return LOGICAL[avro["logicalType"]].__name__
    if kind == "array":
        return f"list[{expected(avro['items'], named)}]"
    if kind == "map":
        return f"dict[str, {expected(avro['values'], named)}]"
    if kind == "enum":
        return f"a str Enum or Literal of {', '.join(avro['symbols'])}"
    if kind == "record":
        return f"a Record subclass for {avro['name']}"
    return expected(kind, named)


def avro_name(avro: Any) -> str:
    """An Avro type in its own notation, for messages."""
    if isinstance(avro, str):
        return avro
    if isinstance(avro, list):
        return "[" + ", ".join(avro_name(branch) for branch in avro) + "]"
    if "logicalType" in avro:
        return f"{avro['type']} ({avro['logicalType']})"
    if avro.get("type") in ("record", "enum", "fixed"):
        return str(avro["name"])
    if avro.get("type") == "array":
        return f"array<{avro_name(avro['items'])}>"
    if avro.get("type") == "map":
        return f"map<{avro_name(avro['values'])}>"
    return avro_name(avro.get("type"))
