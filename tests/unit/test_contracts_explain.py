"""Why a schema cannot read another, named by field and worded for the direction of the check."""

from __future__ import annotations

import json
from typing import Any

from hivebus.contracts.compat import directions
from hivebus.contracts.explain import explain


def record(*fields: dict[str, Any], name: str = "Order") -> str:
    return json.dumps({"type": "record", "name": name, "namespace": "t", "fields": list(fields)})


ID = {"name": "id", "type": "string"}
KIND = {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["A", "B"]}}
KIND_A = {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["A"]}}


def test_compatible_schemas_have_no_reasons() -> None:
    newer = record(ID, {"name": "note", "type": "string", "default": ""})
    assert explain(newer, record(ID), "BACKWARD") == []
    assert explain(record(ID), newer, "FORWARD") == []


def test_nested_fields_are_named_by_path_even_inside_nullable_records() -> None:
    def merchant(*fields: dict[str, Any]) -> dict[str, Any]:
        inner = {"type": "record", "name": "Merchant", "fields": list(fields)}
        return {"name": "merchant", "type": ["null", inner], "default": None}

    old = record(ID, merchant({"name": "x", "type": "int"}))
    new = record(ID, merchant({"name": "x", "type": "string"}, {"name": "y", "type": "int"}))
    assert explain(new, old, "BACKWARD") == [
        "field 'merchant.x' changed type from int to string, which cannot read the int written "
        "before",
        "field 'merchant.y' has no default, so records written before it cannot be read",
    ]


def test_enum_symbols_are_named_both_ways() -> None:
    assert explain(record(ID, KIND_A), record(ID, KIND), "BACKWARD") == [
        "field 'kind': enum symbols B were removed, so records using them are unreadable"
    ]
    assert explain(record(ID, KIND_A), record(ID, KIND), "FORWARD") == [
        "field 'kind': new enum symbols B cannot be read by existing readers"
    ]


def test_a_renamed_record_and_a_deeper_mismatch_are_still_explained() -> None:
    assert explain(record(ID, name="Other"), record(ID), "BACKWARD") == [
        "the record changed name from t.Order to t.Other"
    ]
    ints = {"name": "tags", "type": {"type": "array", "items": "int"}}
    strings = {"name": "tags", "type": {"type": "array", "items": "string"}}
    (reason,) = explain(record(strings), record(ints), "BACKWARD")
    assert reason.startswith("field 'tags': type mismatch at /items")


def test_levels_map_to_the_directions_they_check() -> None:
    assert directions("BACKWARD_TRANSITIVE") == ("BACKWARD",)
    assert directions("FORWARD") == ("FORWARD",)
    assert directions("FULL") == ("BACKWARD", "FORWARD")
    assert directions("NONE") == ()
