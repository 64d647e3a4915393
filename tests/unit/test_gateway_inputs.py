"""A task's JSON input against an Avro contract: errors name the JSON path; placement."""

from __future__ import annotations

from decimal import Decimal
from io import BytesIO
from typing import Any

import fastavro
import pytest

from hivebus.contracts import contract_from_dict
from hivebus.gateway.validation import InvalidInput, avro_datum
from hivebus.kafka.partitioning import murmur2, partition_of

ORDER = contract_from_dict(
    {
        "type": "record",
        "name": "Order",
        "namespace": "shop",
        "fields": [
            {"name": "id", "type": "string"},
            {"name": "count", "type": "int"},
            {
                "name": "price",
                "type": {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2},
            },
            {"name": "note", "type": ["null", "string"], "default": None},
            {
                "name": "lines",
                "type": {
                    "type": "array",
                    "items": {
                        "type": "record",
                        "name": "Line",
                        "fields": [
                            {"name": "sku", "type": "string"},
                            {"name": "qty", "type": "long"},
                        ],
                    },
                },
            },
            {"name": "tags", "type": {"type": "map", "values": "string"}, "default": {}},
            {
                "name": "kind",
                "type": {"type": "enum", "name": "Kind", "symbols": ["A", "B"]},
                "default": "A",
            },
            {"name": "raw", "type": "bytes", "default": ""},
            {"name": "ship", "type": ["null", "Line"], "default": None},
        ],
    }
)
GOOD = {"id": "o1", "count": 2, "price": "9.99", "lines": [{"sku": "s", "qty": 1}]}


def error_of(value: dict[str, Any]) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        avro_datum(value, ORDER)
    return caught.value


def test_a_fitting_input_is_what_the_avro_writer_takes() -> None:
    datum = avro_datum(
        {**GOOD, "note": "hi", "raw": "\u00ff\u0001", "ship": {"sku": "x", "qty": 3}}, ORDER
    )
    assert datum["price"] == Decimal("9.99") and datum["raw"] == b"\xff\x01"
    out = BytesIO()
    fastavro.schemaless_writer(out, ORDER.parsed, datum)
    out.seek(0)
    back = fastavro.schemaless_reader(out, ORDER.parsed, ORDER.parsed)
    assert back["ship"] == {"sku": "x", "qty": 3} and back["kind"] == "A"
    assert avro_datum({**GOOD, "note": {"string": "tagged"}}, ORDER)["note"] == "tagged"


@pytest.mark.parametrize(
    ("value", "path", "words"),
    [
        ({**GOOD, "count": "two"}, "count", "expected int, got string"),
        ({**GOOD, "count": True}, "count", "expected int, got boolean"),
        ({**GOOD, "count": 2**40}, "count", "out of range"),
        ({k: v for k, v in GOOD.items() if k != "id"}, "id", "required and missing"),
        (
            {**GOOD, "lines": [{"sku": "s", "qty": 1}, {"sku": 5, "qty": 1}]},
            "lines[1].sku",
            "expected string",
        ),
        ({**GOOD, "lines": {"sku": "s"}}, "lines", "expected an array"),
        ({**GOOD, "note": 5}, "note", "expected one of [null, string], got integer"),
        ({**GOOD, "ship": {"sku": "x"}}, "ship.qty", "required and missing"),
        ({**GOOD, "kind": "C"}, "kind", "expected one of ['A', 'B']"),
        ({**GOOD, "tags": {"a": 1}}, "tags['a']", "expected string"),
        ({**GOOD, "raw": "\u20ac"}, "raw", "one character"),
        ({**GOOD, "price": "cheap"}, "price", "not a decimal"),
    ],
)
def test_a_misfit_names_its_json_path(value: dict[str, Any], path: str, words: str) -> None:
    error = error_of(value)
    assert error.path == path
    assert words in str(error) and f"'{path}'" in str(error)


def test_murmur2_placement_is_the_java_clients() -> None:
    expected = {
        b"21": -973932308,
        b"foobar": -790332482,
        b"abc": 479470107,
        b"a-little-bit-long-string": -985981536,
    }
    as_signed = {k: murmur2(k) - (1 << 32) * (murmur2(k) >> 31) for k in expected}
    assert as_signed == expected
    assert partition_of(b"foobar", 6) == (-790332482 & 0x7FFFFFFF) % 6
