"""Keys a JSON value has that its contract lacks are found, nested ones too, with a suggestion."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hivebus.contracts import contract_from_dict, load_contract
from hivebus.contracts.strict import describe_unknown, unknown_fields

ROOT = Path(__file__).resolve().parents[2]
TRANSACTION = load_contract(ROOT / "schemas" / "payments" / "Transaction.v2.avsc")
PAYMENT = load_contract(ROOT / "tests" / "schemas" / "contracts" / "payment.v2.avsc")

TX = {
    "id": "t1", "account": "acct-1", "amount": 12.5, "currency": "EUR", "channel": "card",
    "country": "FR", "merchant": "grocer",
}  # fmt: skip

LINE = contract_from_dict({
    "type": "record", "name": "Line", "namespace": "hivebus.tests.strict",
    "fields": [{"name": "sku", "type": "string"}, {"name": "qty", "type": "int"}],
})  # fmt: skip
ORDER = contract_from_dict({
    "type": "record", "name": "Order", "namespace": "hivebus.tests.strict",
    "fields": [
        {"name": "id", "type": "string"},
        {"name": "lines", "type": {"type": "array", "items": LINE.schema}},
        {"name": "gift", "type": ["null", "hivebus.tests.strict.Line"], "default": None},
        {"name": "extras", "type": {"type": "map", "values": "hivebus.tests.strict.Line"}},
    ],
})  # fmt: skip


def _paths(value: Any, contract: Any) -> list[str]:
    return [field.path for field in unknown_fields(value, contract)]


def test_a_misspelt_field_is_named_with_the_field_meant() -> None:
    [unknown] = unknown_fields({**TX, "devcie_id": "dev-1"}, TRANSACTION)
    assert unknown.path == "devcie_id"
    assert unknown.suggestion == "device_id"
    assert describe_unknown(TRANSACTION, [unknown]) == (
        "hivebus.examples.payments.Transaction has no field 'devcie_id' (did you mean 'device_id'?)"
    )


def test_a_value_with_only_contract_fields_has_nothing_unknown() -> None:
    assert unknown_fields({**TX, "device_id": None}, TRANSACTION) == []
    assert unknown_fields(TX, TRANSACTION) == []  # a missing field is not this check's business


def test_an_unrelated_key_gets_no_suggestion_and_all_are_listed() -> None:
    found = unknown_fields({**TX, "zzz": 1, "acount": "a"}, TRANSACTION)
    assert describe_unknown(TRANSACTION, found) == (
        "hivebus.examples.payments.Transaction has no fields 'zzz', "
        "'acount' (did you mean 'account'?)"
    )


def test_keys_of_nested_records_are_checked_by_their_dotted_path() -> None:
    value = {
        "id": "p1", "amount": 1.0, "kind": "CARD",
        "merchant": {"nmae": "grocer", "country": "FR"},
    }  # fmt: skip
    [unknown] = unknown_fields(value, PAYMENT)
    assert unknown.path == "merchant.nmae"
    assert unknown.record == "hivebus.tests.contracts.Merchant"
    assert unknown.suggestion == "merchant.name"


def test_records_in_arrays_unions_and_map_values_are_checked_but_map_keys_are_data() -> None:
    good = {
        "id": "o1",
        "lines": [{"sku": "a", "qty": 1}],
        "gift": {"sku": "g", "qty": 1},
        "extras": {"anything-goes": {"sku": "x", "qty": 2}},
    }
    assert unknown_fields(good, ORDER) == []
    bad = {
        "id": "o1",
        "lines": [{"sku": "a", "qty": 1}, {"sku": "b", "qtty": 2}],
        "gift": {"sku": "g", "qty": 1, "wrap": True},
        "extras": {"k": {"skus": "x", "qty": 2}},
    }
    assert _paths(bad, ORDER) == ["lines[1].qtty", "gift.wrap", "extras['k'].skus"]
    assert _paths({**good, "gift": None}, ORDER) == []


def test_a_value_of_the_wrong_shape_is_left_to_validation() -> None:
    assert unknown_fields(["not", "a", "record"], TRANSACTION) == []
    assert unknown_fields({"id": "o1", "lines": "nope", "extras": 3}, ORDER) == []
