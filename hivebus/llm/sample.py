"""Plausible, deterministic instances of a pydantic model, for the offline provider's JSON replies.

Required fields get a value chosen from their type by a hash of the seed; fields with a
default keep it. Numeric bounds and length limits declared with `Field(...)` are honoured;
anything it cannot build (a regex pattern, an arbitrary class) fails with a named error.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import hashlib
import types
import uuid
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from hivebus.llm.errors import LLMError

MAX_DEPTH = 8
EPOCH = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)

M = TypeVar("M", bound=BaseModel)


def sample_instance(schema: type[M], seed: str) -> M:
    """A valid `schema` instance whose values depend only on `seed` and the schema."""
    data = _model_data(schema, seed, 0)
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(map(str, first["loc"]))
        raise LLMError(
            f"the offline provider cannot build a valid {schema.__name__}: {field}: "
            f"{first['msg']}; give that field a default"
        ) from exc


def _model_data(schema: type[BaseModel], seed: str, depth: int) -> dict[str, Any]:
    if depth > MAX_DEPTH:
        raise LLMError(f"the offline provider cannot build {schema.__name__}: nested too deep")
    data: dict[str, Any] = {}
    for name, info in schema.model_fields.items():
        if info.is_required():
            key = info.alias or name
            data[key] = _value(info.annotation, info.metadata, f"{seed}/{name}", name, depth)
    return data


def _value(tp: Any, metadata: Sequence[Any], seed: str, name: str, depth: int) -> Any:
    origin, args = get_origin(tp), get_args(tp)
    if origin is Annotated:
        return _value(args[0], [*metadata, *args[1:]], seed, name, depth)
    if tp is None or tp is type(None):
        return None
    if origin is Literal:
        return _choose(args, seed)
    if origin in (Union, types.UnionType):
        arms = [arm for arm in args if arm is not type(None)]
        optional = len(arms) < len(args)
        if not arms or (optional and depth >= MAX_DEPTH // 2):  # stop self-referencing models
            return None
        return _value(arms[0], metadata, seed, name, depth)
    if origin is not None:
        return _container(origin, args, metadata, seed, name, depth)
    if tp is Any or tp is object:
        return _text(name, seed, metadata)
    if isinstance(tp, type):
        return _scalar(tp, metadata, seed, name, depth)
    raise LLMError(f"the offline provider cannot build field {name!r} of type {tp!r}")


def _scalar(tp: type, metadata: Sequence[Any], seed: str, name: str, depth: int) -> Any:
    if issubclass(tp, BaseModel):
        return _model_data(tp, seed, depth + 1)
    if issubclass(tp, enum.Enum):
        return _choose(tuple(tp), seed)
    if tp is bool:
        return _choose((True, False), seed)
    if issubclass(tp, int):
        return _int(metadata, seed)
    if issubclass(tp, float):
        return _float(metadata, seed)
    if issubclass(tp, decimal.Decimal):
        return decimal.Decimal(str(round(_float(metadata, seed), 3)))
    if issubclass(tp, str):
        return _text(name, seed, metadata)
    if issubclass(tp, bytes):
        return _text(name, seed, metadata).encode()
    if issubclass(tp, dt.datetime):
        return EPOCH + dt.timedelta(minutes=_hash(seed) % 100_000)
    if issubclass(tp, dt.date):
        return EPOCH.date() + dt.timedelta(days=_hash(seed) % 365)
    if issubclass(tp, dt.timedelta):
        return dt.timedelta(seconds=_hash(seed) % 3600)
    if issubclass(tp, uuid.UUID):
        return uuid.UUID(int=_hash(seed) % (1 << 128), version=4)
    raise LLMError(f"the offline provider cannot build field {name!r} of type {tp.__name__}")


def _container(
    origin: Any, args: tuple[Any, ...], metadata: Sequence[Any], seed: str, name: str, depth: int
) -> Any:
    count = max(1, _bound(metadata, "min_length") or 0)
    if isinstance(origin, type) and issubclass(origin, Mapping):
        value_type = args[1] if len(args) == 2 else Any
        return {
            f"{name}_{i}": _value(value_type, [], f"{seed}/{i}", name, depth) for i in range(count)
        }
    if origin is tuple and args and args[-1] is not Ellipsis:
        return [_value(arm, [], f"{seed}/{i}", name, depth) for i, arm in enumerate(args)]
    if isinstance(origin, type) and issubclass(origin, (Sequence, set, frozenset)):
        item_type = args[0] if args else Any
        return [_value(item_type, [], f"{seed}/{i}", name, depth) for i in range(count)]
    raise LLMError(f"the offline provider cannot build field {name!r} of type {origin!r}")


def _int(metadata: Sequence[Any], seed: str) -> int:
    ge, gt = _bound(metadata, "ge"), _bound(metadata, "gt")
    le, lt = _bound(metadata, "le"), _bound(metadata, "lt")
    low = int(ge) if ge is not None else int(gt) + 1 if gt is not None else None
    high = int(le) if le is not None else int(lt) - 1 if lt is not None else None
    if low is None:
        low = 0 if high is None or high >= 0 else high - 99
    if high is None:
        high = low + 99
    return low + _hash(seed) % (high - low + 1)


def _float(metadata: Sequence[Any], seed: str) -> float:
    low, high = _bound(metadata, "ge", "gt"), _bound(metadata, "le", "lt")
    if low is None:
        low = 0.0 if high is None or high > 0 else float(high) - 1.0
    if high is None:
        high = float(low) + 1.0
    fraction = (_hash(seed) % 999 + 1) / 1000  # strictly inside, so gt/lt bounds hold too
    return round(float(low) + (float(high) - float(low)) * fraction, 6)


def _text(name: str, seed: str, metadata: Sequence[Any]) -> str:
    text = f"offline {name.replace('_', ' ')} {_hash(seed) % 0x10000:04x}"
    min_length, max_length = _bound(metadata, "min_length"), _bound(metadata, "max_length")
    if min_length is not None and len(text) < min_length:
        text = text.ljust(int(min_length), ".")
    if max_length is not None:
        text = text[: int(max_length)]
    return text


def _bound(metadata: Sequence[Any], *attributes: str) -> Any:
    """The first constraint named (`ge`, `max_length`, ...) in `Field(...)` metadata, or None."""
    for attribute in attributes:
        for item in metadata:
            value = getattr(item, attribute, None)
            if value is not None:
                return value
    return None


def _choose(options: Sequence[Any], seed: str) -> Any:
    return options[_hash(seed) % len(options)]


def _hash(seed: str) -> int:
    return int.from_bytes(hashlib.sha256(seed.encode()).digest()[:16], "big")
