"""Contracts load from .avsc files; versions are grouped by record name; errors name the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hivebus.contracts import ContractError, contract_versions, load_contract, load_contracts

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas" / "contracts"


def _record(name: str, *fields: str) -> dict[str, object]:
    return {
        "type": "record",
        "name": name,
        "namespace": "hivebus.tests.loading",
        "fields": [{"name": f, "type": "string", "default": ""} for f in fields],
    }


def _write(path: Path, schema: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(schema, indent=2))
    return path


def test_a_contract_keeps_every_form_the_layer_needs() -> None:
    contract = load_contract(SCHEMAS / "payment.v1.avsc")
    assert contract.fullname == "hivebus.tests.contracts.Payment"
    assert contract.path == SCHEMAS / "payment.v1.avsc"
    assert json.loads(contract.schema_str) == contract.schema
    assert "\n" not in contract.schema_str  # compact: whitespace edits are no new schema
    assert contract.parsed["name"] == contract.fullname


def test_the_highest_version_wins_and_versions_are_ascending(tmp_path: Path) -> None:
    _write(tmp_path / "orders" / "order.avsc", _record("Order", "a"))  # unnumbered = version 1
    _write(tmp_path / "orders" / "order.v3.avsc", _record("Order", "a", "b", "c"))
    _write(tmp_path / "orders" / "order.v2.avsc", _record("Order", "a", "b"))
    _write(tmp_path / "refund.avsc", _record("Refund", "r"))

    versions = contract_versions(tmp_path)
    orders = versions["hivebus.tests.loading.Order"]
    assert [len(c.schema["fields"]) for c in orders] == [1, 2, 3]
    latest = load_contracts(tmp_path)
    assert sorted(latest) == ["hivebus.tests.loading.Order", "hivebus.tests.loading.Refund"]
    assert latest["hivebus.tests.loading.Order"].path == tmp_path / "orders" / "order.v3.avsc"


def test_two_files_claiming_one_version_are_refused(tmp_path: Path) -> None:
    _write(tmp_path / "a.v2.avsc", _record("Order", "a"))
    _write(tmp_path / "b.v2.avsc", _record("Order", "b"))
    with pytest.raises(ContractError, match=r"both version 2 of hivebus.tests.loading.Order"):
        load_contracts(tmp_path)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"type": "record", "name": ', "is not valid JSON: Expecting value at line 1"),
        ('"string"', "the top-level schema must be an Avro record, not 'str'"),
        ('{"type": "enum", "name": "E", "symbols": ["A"]}', "must be an Avro record, not 'enum'"),
        ('{"type": "record", "name": "R", "fields": [{"name": "x", "type": "nope"}]}', "nope"),
        ('{"type": "record", "name": "R", "namespace": "a.1b", "fields": []}', "1b is not a valid"),
    ],
)
def test_a_bad_file_is_named_with_its_problem(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "bad.avsc"
    path.write_text(text)
    with pytest.raises(ContractError) as error:
        load_contract(path)
    assert str(path) in str(error.value)
    assert problem in str(error.value)


def test_a_missing_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match=r"contract folder .*missing does not exist"):
        load_contracts(tmp_path / "missing")
