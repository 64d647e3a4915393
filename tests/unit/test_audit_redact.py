"""Sensitive contract fields stay out of the audit: masks, redaction, scrubbing."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from hivebus.audit.redact import (
    REDACTED,
    mask_of,
    model_mask,
    redact,
    scrub,
    sensitive_values,
    to_json,
)
from hivebus.runtime.loader import import_file

AGENTS = Path(__file__).parents[2] / "agents"

CUSTOMER = {
    "type": "record", "name": "Customer", "namespace": "tests.audit",
    "fields": [
        {"name": "id", "type": "string"},
        {"name": "email", "type": "string", "sensitive": True},
        {"name": "address", "type": ["null", {
            "type": "record", "name": "Address",
            "fields": [{"name": "street", "type": "string", "sensitive": True},
                       {"name": "country", "type": "string"}],
        }], "default": None},
        {"name": "previous", "type": {"type": "array", "items": "Address"}, "default": []},
        {"name": "phones", "type": {"type": "map", "values": "string"}, "sensitive": True,
         "default": {}},
        {"name": "notes", "type": {"type": "map", "values": "string"}, "default": {}},
    ],
}  # fmt: skip
ALICE = {
    "id": "c1", "email": "alice@example.org",
    "address": {"street": "1 Rue Haute", "country": "FR"},
    "previous": [{"street": "9 Old Lane", "country": "GB"}],
    "phones": {"home": "+33 1 23 45 67"}, "notes": {"vip": "yes"},
}  # fmt: skip


def test_a_mask_finds_sensitive_fields_in_nested_records_arrays_maps_and_unions() -> None:
    mask = mask_of(CUSTOMER)
    assert redact(ALICE, mask) == {
        "id": "c1", "email": REDACTED,
        "address": {"street": REDACTED, "country": "FR"},
        "previous": [{"street": REDACTED, "country": "GB"}],  # by the name Address
        "phones": REDACTED, "notes": {"vip": "yes"},
    }  # fmt: skip
    assert ALICE["email"] == "alice@example.org"  # a copy: the record is left as it was


def test_a_contract_with_nothing_sensitive_has_no_mask() -> None:
    plain = {"type": "record", "name": "P", "fields": [{"name": "a", "type": "string"}]}
    assert mask_of(plain) is None
    assert redact({"a": "x"}, None) == {"a": "x"}


def test_sensitive_values_are_scrubbed_from_free_text() -> None:
    secrets = sensitive_values(ALICE, mask_of(CUSTOMER))
    assert secrets == {"alice@example.org", "1 Rue Haute", "9 Old Lane", "+33 1 23 45 67"}
    prompt = "Write to alice@example.org about 1 Rue Haute (FR)"
    assert scrub(prompt, secrets) == f"Write to {REDACTED} about {REDACTED} (FR)"


def test_short_values_are_not_scrubbed_everywhere() -> None:
    schema = {"type": "record", "name": "S",
              "fields": [{"name": "code", "type": "string", "sensitive": True}]}  # fmt: skip
    assert sensitive_values({"code": "FR"}, mask_of(schema)) == set()


def test_the_seed_contracts_mark_the_account_and_records_in_any_value_are_redacted() -> None:
    contracts = import_file((AGENTS / "contracts.py").resolve())
    flag = contracts.FlaggedTransaction(
        tx_id="t1", account="acct-777", amount=10.0, currency="EUR", channel="card",
        risk=0.9, reasons=["acct-777 is new"],
    )  # fmt: skip
    assert model_mask(contracts.FlaggedTransaction) == {"fields": {"account": True}}

    @dataclass
    class Found:
        flag: object
        note: str

    text = to_json([Found(flag, "seen acct-777 twice"), {"n": 1}], {"acct-777"})
    found = json.loads(text)
    assert found[0]["flag"]["account"] == REDACTED and found[0]["flag"]["tx_id"] == "t1"
    assert found[0]["flag"]["reasons"] == [f"{REDACTED} is new"]  # scrubbed, not structural
    assert found[0]["note"] == f"seen {REDACTED} twice" and found[1] == {"n": 1}
    assert "acct-777" not in text


def test_scrubbing_json_never_breaks_it() -> None:
    text = to_json({"amount": 12345678, "memo": "paid 12345678"}, {"12345678"})
    assert json.loads(text) == {"amount": 12345678, "memo": f"paid {REDACTED}"}
