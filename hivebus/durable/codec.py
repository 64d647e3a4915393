"""How a step's result is kept in the journal, and read back on replay.

JSON throughout, so a journal is readable with any tool: JSON values as they are, pydantic
models (`Record`s included) as their JSON dump, named by `model:<module>:<qualname>` so replay
rebuilds the same class; dataclasses (an LLM `Completion`, say) likewise, as `dataclass:`,
field by field. A step may declare its type with `returns=`; otherwise the type of
what it returned is recorded.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
from typing import Any

from pydantic import BaseModel

from hivebus.durable.errors import JournalCodecError

JSON = "json"
_MODEL = "model:"
_DATACLASS = "dataclass:"


def encode(value: Any) -> tuple[str, bytes]:
    """(codec, bytes) of a step's result."""
    cls = type(value)
    if isinstance(value, BaseModel):
        return f"{_MODEL}{cls.__module__}:{cls.__qualname__}", value.model_dump_json().encode()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value) if f.init}
        _, data = encode(fields)
        return f"{_DATACLASS}{cls.__module__}:{cls.__qualname__}", data
    try:
        return JSON, json.dumps(value, separators=(",", ":")).encode()
    except (TypeError, ValueError) as error:
        raise JournalCodecError(
            f"a step returned {type(value).__name__}, which the journal cannot keep: return "
            "JSON values (dict, list, str, numbers, bool, None), a pydantic model or a dataclass "
            f"({error})"
        ) from None


def decode(codec: str, data: bytes, returns: type[Any] | None = None) -> Any:
    """The value `encode` kept; `returns` (a pydantic model or a dataclass) overrides the
    recorded class."""
    if codec == JSON and returns is None:
        return json.loads(data)
    if codec.startswith(_DATACLASS) or dataclasses.is_dataclass(returns):
        cls = returns if returns is not None else _find(codec[len(_DATACLASS) :])
        if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
            raise JournalCodecError(f"{codec[len(_DATACLASS) :]} is not a dataclass")
        return cls(**json.loads(data))
    model = returns if returns is not None else _model(codec)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return model.model_validate_json(data)
    return json.loads(data)


def _model(codec: str) -> type[BaseModel]:
    if not codec.startswith(_MODEL):
        raise JournalCodecError(f"unknown journal codec {codec!r}")
    found = _find(codec[len(_MODEL) :])
    if not (isinstance(found, type) and issubclass(found, BaseModel)):
        raise JournalCodecError(f"{codec[len(_MODEL) :]} is not a pydantic model")
    return found


def _find(name: str) -> Any:
    """The class `<module>:<qualname>` names."""
    module, _, qualname = name.partition(":")
    try:
        found: Any = importlib.import_module(module)
        for part in qualname.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError) as error:
        raise JournalCodecError(
            f"the journal holds a {qualname} from {module}, which cannot be imported here "
            f"({error}); declare the step's type with returns=..."
        ) from None
    return found
