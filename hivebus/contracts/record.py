"""`Record`: the pydantic face of a contract, bound to its `.avsc` and checked for drift.

    class Transaction(Record, avsc="../schemas/transaction.avsc"):
        id: str
        amount: float

The `.avsc` stays the source of truth for the wire; the class is how Python code reads and
builds events. Binding is two steps because pydantic builds fields after `__init_subclass__`:
the contract is loaded there (so `fullname` is known at once), and drift is checked in
`__pydantic_init_subclass__` once the fields exist, or on first use when the model still has
unresolved forward references.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, ClassVar, Self

from pydantic import BaseModel

from hivebus.contracts.contract import Contract, load_contract
from hivebus.contracts.drift import DriftChecker
from hivebus.contracts.dump import enum_keys, plain
from hivebus.contracts.errors import ContractDriftError, ContractError


class Record(BaseModel):
    """Base of every contract's Python face; subclasses without `avsc=` are abstract helpers."""

    fullname: ClassVar[str]
    __hivebus_contract__: ClassVar[Contract | None] = None
    __hivebus_checked__: ClassVar[bool] = False
    __hivebus_plain__: ClassVar[tuple[str, ...] | None] = None

    def __init_subclass__(cls, avsc: Path | str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if avsc is not None:
            contract = load_contract(_beside(cls, avsc))
            cls.__hivebus_contract__ = contract
            cls.fullname = contract.fullname
        # A subclass of a bound record inherits its contract and is checked again: adding a
        # field to it is drift like any other.
        cls.__hivebus_checked__ = False
        cls.__hivebus_plain__ = None

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if cls.__hivebus_contract__ is not None and cls.__pydantic_complete__:
            cls._check()

    @classmethod
    def _check(cls) -> None:
        if not cls.__pydantic_complete__:
            cls.model_rebuild()
        if problems := check_drift(cls):
            contract = cls.contract_or_none()
            where = contract.path if contract and contract.path else cls.fullname
            lines = "\n".join(f"  - {problem}" for problem in problems)
            raise ContractDriftError(
                f"model {cls.__qualname__} has drifted from {where} ({cls.fullname}):\n{lines}"
            )
        cls.__hivebus_checked__ = True

    @classmethod
    def contract_or_none(cls) -> Contract | None:
        """The bound contract, or None for an abstract helper."""
        return cls.__hivebus_contract__

    @classmethod
    def contract(cls) -> Contract:
        """The contract this model is the face of (checked for drift before it is returned)."""
        contract = cls.__hivebus_contract__
        if contract is None:
            raise ContractError(
                f"{cls.__qualname__} is not bound to a contract; declare it as "
                f"`class {cls.__name__}(Record, avsc='path/to/schema.avsc')`"
            )
        if not cls.__hivebus_checked__:
            cls._check()
        return contract

    def to_avro(self) -> dict[str, Any]:
        """The record as fastavro writes it: one dump by alias, Enum members as their symbols."""
        keys = type(self).__hivebus_plain__
        if keys is None:
            keys = type(self).__hivebus_plain__ = enum_keys(type(self))
        # `model_dump(by_alias=True)` without its keyword plumbing: this runs once per event.
        data: dict[str, Any] = self.__pydantic_serializer__.to_python(self, by_alias=True)
        for key in keys:
            data[key] = plain(data[key])
        return data

    @classmethod
    def from_avro(cls, data: dict[str, Any]) -> Self:
        """Validate a dict as fastavro reads it (nested records as dicts, enums as strings)."""
        return cls.__pydantic_validator__.validate_python(data)  # type: ignore[no-any-return]


def check_drift(model: type[Record], contract: Contract | None = None) -> list[str]:
    """Every difference between `model` and `contract` (default: its own), as readable lines."""
    contract = contract or model.contract_or_none()
    if contract is None:
        raise ContractError(f"{model.__qualname__} has no contract to check against")
    if not model.__pydantic_complete__ and not model.model_rebuild(raise_errors=False):
        return [
            f"{model.__qualname__} has annotations that do not resolve yet; define the types "
            "it names, then call model_rebuild()"
        ]
    parsed = contract.parsed
    return DriftChecker(parsed.get("__named_schemas", {})).record(model, parsed)


def _beside(cls: type, avsc: Path | str) -> Path:
    """Resolve a relative `avsc=` against the directory of the module defining the class."""
    path = Path(avsc)
    if path.is_absolute():
        return path
    module_file = getattr(sys.modules.get(cls.__module__), "__file__", None)
    return ((Path(module_file).parent if module_file else Path.cwd()) / path).resolve()
