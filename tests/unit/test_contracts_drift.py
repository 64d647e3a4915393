"""A pydantic face must say what its .avsc says; each kind of drift is named by field."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import Field, create_model

from hivebus.contracts import (
    ContractDriftError,
    ContractError,
    Record,
    check_drift,
    contract_from_dict,
    load_contract,
)

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas" / "contracts"
V1 = SCHEMAS / "payment.v1.avsc"


class Kind(enum.StrEnum):
    CARD = "CARD"
    WIRE = "WIRE"


class Merchant(Record):
    """Unbound: a nested record needs no .avsc of its own."""

    name: str
    country: str = "NL"


class Loose(Record):
    name: str
    country: str = "BE"


PAYMENT_FIELDS: dict[str, Any] = {
    "id": (str, ...),
    "amount": (float, ...),
    "count": (int, 0),
    "approved": (bool, False),
    "kind": (Kind, ...),
    "note": (str | None, None),
    "tags": (list[str], []),
    "limits": (dict[str, int], {}),
    "merchant": (Merchant, ...),
    "raw": (bytes, b""),
}


class Payment(Record, avsc="../schemas/contracts/payment.v1.avsc"):
    id: str
    amount: float
    count: int = 0
    approved: bool = False
    kind: Kind
    note: str | None = None
    tags: list[str] = Field(default_factory=list)
    limits: dict[str, int] = Field(default_factory=dict)
    merchant: Merchant
    raw: bytes = b""


def test_a_matching_model_binds_and_knows_its_contract() -> None:
    assert check_drift(Payment) == []
    assert Payment.fullname == "hivebus.tests.contracts.Payment"
    assert Payment.contract().path == V1  # relative avsc= resolves beside this module


def test_literal_stands_for_an_enum_and_nested_records_may_be_bound(tmp_path: Path) -> None:
    class BoundMerchant(Record, avsc=_nested_as_file(tmp_path)):
        name: str
        country: str = "NL"

    class LiteralPayment(Record, avsc=V1):
        id: str
        amount: float
        count: int = 0
        approved: bool = False
        kind: Literal["WIRE", "CARD"]
        note: None | str = None  # noqa: RUF036 -- union order must not matter
        tags: list[str] = Field(default_factory=list)
        limits: dict[str, int] = Field(default_factory=dict)
        merchant: BoundMerchant
        raw: bytes = b""

    assert check_drift(LiteralPayment) == []


def test_each_kind_of_drift_names_the_field() -> None:
    with pytest.raises(ContractDriftError) as drift:

        class Drifted(Record, avsc=V1):
            id: str
            amount: int  # wrong type: double -> float
            count: int = 5  # wrong default
            approved: bool = False
            kind: Kind
            note: str | None = None
            tags: list[str] = Field(default_factory=list)
            limits: dict[str, int] = Field(default_factory=dict)
            merchant: Merchant
            # raw is missing
            extra: str = ""  # not in the .avsc

    message = str(drift.value)
    assert "model test_each_kind_of_drift_names_the_field.<locals>.Drifted" in message
    assert str(V1) in message
    assert "field 'amount': the model says int, the .avsc says double (expected float)" in message
    assert "field 'count': the .avsc default is 0 but the model default is 5" in message
    assert "field 'raw' (bytes) is in the .avsc but missing from the model" in message
    assert "field 'extra' is in the model but not in the .avsc" in message
    assert message.count("\n  - ") == 4


@pytest.mark.parametrize(
    ("field", "annotation", "default", "problem"),
    [
        ("note", str, None, "field 'note': the model says str, the .avsc says [null, string]"),
        ("note", str | None, ..., "the .avsc default is null but the model field is required"),
        ("tags", list[int], [], "field 'tags[]': the model says int, the .avsc says string"),
        ("limits", dict[str, str], {}, "field 'limits{}': the model says str"),
        ("kind", str, ..., "the .avsc says enum hivebus.tests.contracts.Kind"),
        ("kind", Literal["CARD"], ..., "symbols ['CARD', 'WIRE']"),
        ("approved", int, False, "the model says int, the .avsc says boolean (expected bool)"),
        ("raw", bytes, b"x", "the .avsc default is \"\" but the model default is b'x'"),
        ("merchant", Loose, ..., "'merchant.country': the .avsc default is \"NL\" but the model"),
    ],
)
def test_one_changed_field_is_one_named_problem(
    field: str, annotation: Any, default: Any, problem: str
) -> None:
    fields = {**PAYMENT_FIELDS, field: (annotation, default)}
    model = create_model("Changed", __base__=Record, **fields)
    problems = check_drift(model, load_contract(V1))
    assert len(problems) == 1, problems
    assert problem in problems[0]


def test_an_avro_default_the_model_lacks_and_the_reverse_are_drift() -> None:
    schema = {
        "type": "record",
        "name": "Defaults",
        "namespace": "hivebus.tests.drift",
        "fields": [
            {"name": "a", "type": "string", "default": "x"},
            {"name": "b", "type": "string"},
        ],
    }

    class Defaults(Record):
        a: str
        b: str = "y"

    problems = check_drift(Defaults, contract_from_dict(schema))
    assert problems == [
        "field 'a': the .avsc default is \"x\" but the model field is required",
        "field 'b': the model default is 'y' but the .avsc field has none",
    ]


def test_an_unbound_record_has_no_contract() -> None:
    with pytest.raises(ContractError, match="Merchant is not bound to a contract"):
        Merchant.contract()


def test_a_bad_avsc_path_names_the_file() -> None:
    with pytest.raises(ContractError, match=r"cannot read contract .*nowhere\.avsc"):

        class Lost(Record, avsc="nowhere.avsc"):
            id: str


def test_to_avro_and_from_avro_round_trip_with_enum_symbols() -> None:
    payment = Payment(id="p1", amount=9.5, kind=Kind.WIRE, merchant=Merchant(name="m"))
    data = payment.to_avro()
    assert data["kind"] == "WIRE" and type(data["kind"]) is str
    assert data["merchant"] == {"name": "m", "country": "NL"}
    assert Payment.from_avro(data) == payment


def _nested_as_file(tmp_path: Path) -> Path:
    path = tmp_path / "merchant.avsc"
    path.write_text(
        '{"type": "record", "name": "Merchant", "namespace": "hivebus.tests.contracts",'
        ' "fields": [{"name": "name", "type": "string"},'
        ' {"name": "country", "type": "string", "default": "NL"}]}'
    )
    return path
