"""CloudEvents headers: exact names, a lossless round trip, unique ids, RFC 3339 times."""

from __future__ import annotations

import re
from datetime import datetime

from hivebus.contracts import EventMeta, HeaderBuilder, parse_headers
from hivebus.contracts.stamps import rfc3339


def test_required_headers_have_the_binding_names() -> None:
    headers, event_id = HeaderBuilder("hivebus://agents/fraud").build("acme.Payment")
    assert [name for name, _ in headers] == [
        "ce_specversion",
        "ce_id",
        "ce_source",
        "ce_type",
        "ce_time",
        "content-type",
    ]
    values = dict(headers)
    assert values["ce_specversion"] == b"1.0"
    assert values["ce_id"] == event_id.encode()
    assert values["ce_source"] == b"hivebus://agents/fraud"
    assert values["ce_type"] == b"acme.Payment"
    assert values["content-type"] == b"application/avro"
    assert all(isinstance(value, bytes) for value in values.values())


def test_build_then_parse_round_trips_every_attribute() -> None:
    headers, event_id = HeaderBuilder("publisher").build(
        "acme.Payment",
        correlation_id="corr-1",
        causation_id="cause-2",
        run_id="run-3",
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    )
    meta = parse_headers(headers)
    assert meta is not None
    assert meta == EventMeta(
        id=event_id,
        source="publisher",
        type="acme.Payment",
        time=dict(headers)["ce_time"].decode(),
        correlation_id="corr-1",
        causation_id="cause-2",
        run_id="run-3",
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    )
    assert {name for name, _ in headers} >= {
        "ce_correlationid",
        "ce_causationid",
        "ce_runid",
        "ce_traceparent",
    }


def test_optional_extensions_are_left_out_when_unset() -> None:
    headers, _ = HeaderBuilder("s").build("t")
    assert not [name for name, _ in headers if name.startswith(("ce_corr", "ce_caus", "ce_run"))]


def test_ids_are_unique_across_builders_and_a_given_id_is_kept() -> None:
    first, second = HeaderBuilder("a"), HeaderBuilder("a")
    ids = {first.build("t")[1] for _ in range(5000)} | {second.build("t")[1] for _ in range(5000)}
    assert len(ids) == 10_000
    _, given = first.build("t", event_id="my-id")
    assert given == "my-id"


def test_time_is_rfc3339_utc_with_milliseconds() -> None:
    headers, _ = HeaderBuilder("s").build("t")
    stamp = dict(headers)["ce_time"].decode()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", stamp)
    assert rfc3339(1_700_000_000_123) == "2023-11-14T22:13:20.123Z"
    parsed = datetime.fromisoformat(stamp)
    assert abs(parsed.timestamp() - datetime.now().timestamp()) < 60


def test_parse_is_tolerant_of_foreign_records() -> None:
    assert parse_headers(None) is None
    assert parse_headers([]) is None
    assert parse_headers([("traceparent", b"x")]) is None  # no ce_id: not a CloudEvent
    meta = parse_headers([("ce_id", b"only-an-id"), ("ce_runid", None)])
    assert meta == EventMeta(id="only-an-id", source="", type="", time="")


def test_parse_accepts_the_shapes_confluent_kafka_returns() -> None:
    as_dict = parse_headers({"ce_id": b"x", "ce_type": "acme.T", "ce_source": None})
    assert as_dict == EventMeta(id="x", source="", type="acme.T", time="")
