"""Plain decisions by column read back, through fastavro and the .avsc, as the decisions
they stand for; and the row-by-row format written before columns still reads."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import fastavro
import pytest

from hivebus.audit import wire
from hivebus.audit.batches import batch_value
from hivebus.audit.expand import events_of, expand_columns, expand_rows
from hivebus.audit.plain import Columns, causation_of
from hivebus.audit.records import (
    AuditBatch,
    PlainColumns,
    PlainDecision,
    PlainDecisions,
    PlainLineage,
    PlainOdd,
    PlainOutput,
)
from hivebus.audit.trail import Trail
from hivebus.contracts.wire import frame_header

SCHEMA = fastavro.parse_schema(AuditBatch.contract().schema)


@dataclass
class _Message:
    at: int

    def offset(self) -> int:
        return self.at


class _Type:
    """A contract's record: one class per name, as the real ones are."""

    fullname: str


_CLASSES: dict[str, type[_Type]] = {}


def record(name: str) -> _Type:
    made = _CLASSES.get(name) or _CLASSES.setdefault(name, type(name, (_Type,), {"fullname": name}))
    return made()


@dataclass
class _Job:
    message: _Message
    headers: list[tuple[str, bytes]] | None


@dataclass
class _Agent:
    name: str = "fraud"
    version: str = "2.0"


@dataclass
class _Call:
    job: _Job
    event: _Type
    attempt: int = 1
    agent: _Agent = field(default_factory=_Agent)


def trail(offset: int, event_id: str, *, correlation: str | None = None,
          causation: str | None = None, run: str | None = None, started_ms: int = 1_000,
          took_s: float = 0.002, attempt: int = 1, with_headers: bool = True,
          type: str = "x.Transaction",
          outputs: tuple[tuple[str, str, str], ...] = ()) -> Trail:  # fmt: skip
    headers = [("ce_id", event_id.encode())]
    if causation is not None:
        headers.append(("ce_causationid", causation.encode()))
    call: Any = _Call(
        _Job(_Message(offset), headers if with_headers else None), record(type), attempt
    )
    cause = event_id.encode()
    correlated = correlation.encode() if correlation else cause
    lineage = (cause, correlated, run.encode() if run else None)
    made = Trail(call, lineage)
    made.clock = 10.0 + (started_ms - 1_000) / 1000  # `read`'s columns began at 1_000, 10.0
    made.ended = made.clock + took_s
    made.outputs = [(t, i.encode(), record(n), attempt) for t, i, n in outputs]  # type: ignore[misc]
    return made


def add(columns: Columns, made: Trail) -> int:
    return columns.add(made, made.call, made.call.job)


def read(trails: list[Trail]) -> AuditBatch:
    agent, topic = wire.string(b"fraud") + wire.string(b"2.0"), wire.string(b"transactions.card")
    columns = Columns(agent, topic, 4, trails[0].call.job.message.offset(), 1_000, 10.0, trails[0])
    for made in trails:
        add(columns, made)
    value = batch_value(frame_header(7), [], [columns.body()])
    return AuditBatch.model_validate(fastavro.schemaless_reader(io.BytesIO(value[5:]), SCHEMA))


def test_each_row_reads_back_as_the_decision_it_stands_for() -> None:
    trails = [
        trail(100, "e1", outputs=(("transactions.flagged", "o1", "x.Flagged"),)),
        trail(101, "e2", correlation="root", causation="e0", started_ms=1_003, took_s=0.5),
        trail(99, "e3", run="r7", started_ms=990, attempt=3, type="x.Refund",
              outputs=(("refunds", "o2", "x.Refunded"),
                       ("transactions.flagged", "o3", "x.Flagged"))),
        trail(2**40, "e4", started_ms=1_000 + 10**7),
        trail(2**40 + 1, "e5", with_headers=False, outputs=(("t", "o4", "x.T"),)),
        trail(2**40 + 2, "e6", with_headers=False, started_ms=1_000 + 10**7,
              outputs=(("t", "o5", "x.T"),)),
    ]  # fmt: skip
    events = events_of(read(trails))
    got = [(e.decision_id, e.correlation_id, e.run_id, e.at_ms, round(e.duration_ms, 6), e.attempt,
            e.input.offset if e.input else None, e.input.event_id if e.input else None,
            e.input.causation_id if e.input else None, e.input.type if e.input else None,
            [(o.topic, o.event_id, o.type) for o in e.outputs]) for e in events]  # fmt: skip
    assert got == [
        ("fraud/e1", "e1", None, 1_000, 2.0, 1, 100, "e1", None, "x.Transaction",
         [("transactions.flagged", "o1", "x.Flagged")]),
        ("fraud/e2", "root", None, 1_003, 500.0, 1, 101, "e2", "e0", "x.Transaction", []),
        ("fraud/e3", "e3", "r7", 990, 2.0, 3, 99, "e3", None, "x.Refund",
         [("refunds", "o2", "x.Refunded"), ("transactions.flagged", "o3", "x.Flagged")]),
        ("fraud/e4", "e4", None, 1_000 + 10**7, 2.0, 1, 2**40, "e4", None, "x.Transaction", []),
        ("fraud/e5", "e5", None, 1_000, 2.0, 1, 2**40 + 1, "e5", None, "x.Transaction",
         [("t", "o4", "x.T")]),
        ("fraud/e6", "e6", None, 1_000 + 10**7, 2.0, 1, 2**40 + 2, "e6", None, "x.Transaction",
         [("t", "o5", "x.T")]),
    ]  # fmt: skip
    for event in events:
        assert (event.kind, event.seq, event.outcome) == ("decision", 0, "ok")
        assert (event.agent, event.agent_version) == ("fraud", "2.0")
        assert event.input is not None
        assert (event.input.topic, event.input.partition) == ("transactions.card", 4)
        assert event.step is None and event.llm is None and event.error is None


def test_a_batch_holds_events_and_columns_side_by_side() -> None:
    plain = wire.plain(b"fraud/", b"e9", wire.string(b"fraud") + wire.string(b"2.0"), b"e9",
                       None, wire.long(5), 0.1, 1, wire.string(b"t"), 0, 3, None,
                       wire.string(b"x.T"), [])  # fmt: skip
    made = trail(7, "e10", started_ms=5)
    columns = Columns(wire.string(b"fraud") + wire.string(b"2.0"), wire.string(b"t"), 1, 7, 5,
                      made.clock, made)  # fmt: skip
    add(columns, made)
    value = batch_value(frame_header(7), [plain], [columns.body()])
    batch = AuditBatch.model_validate(fastavro.schemaless_reader(io.BytesIO(value[5:]), SCHEMA))
    assert [e.decision_id for e in events_of(batch)] == ["fraud/e9", "fraud/e10"]
    empty = batch_value(frame_header(7), [])
    assert fastavro.schemaless_reader(io.BytesIO(empty[5:]), SCHEMA) == {
        "events": [], "plain": [], "columns": []
    }  # fmt: skip


def test_when_the_first_row_published_nothing_the_rows_that_did_are_odd() -> None:
    trails = [
        trail(1, "f1"),
        trail(2, "f2", outputs=(("alerts", "o1", "x.Alert"),)),
        trail(3, "f3"),
    ]
    events = events_of(read(trails))
    assert [(e.input.offset if e.input else None, [o.event_id for o in e.outputs])
            for e in events] == [(1, []), (2, ["o1"]), (3, [])]  # fmt: skip


def test_ids_and_offsets_past_the_small_tables_are_encoded_in_full() -> None:
    long_id = "x" * 5000  # lengths of 4096 or more, offsets jumping back and far ahead
    trails = [
        trail(10, long_id, outputs=(("t", "o" * 4100, "x.T"),)),
        trail(3, "back", outputs=(("t", "o2", "x.T"),)),
        trail(3 + 2**33, "far", outputs=(("t", "o3", "x.T"),)),
    ]  # fmt: skip
    events = events_of(read(trails))
    assert [(e.input.offset if e.input else None, e.input.event_id if e.input else None,
             [len(o.event_id) for o in e.outputs]) for e in events] == [
        (10, long_id, [4100]), (3, "back", [2]), (3 + 2**33, "far", [2])
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("offsets", "ids"),
    [
        ([7, 8, 9, 10], ["a" * 36, "b" * 36, "c" * 36, "d" * 36]),  # one after another, one length
        ([7, 9, 8, 12], ["a", "bb", "", "dddd"]),  # gaps, a step back, lengths that differ
        ([8, 9, 10], ["x" * 4096] * 3),  # one length, past the table of small lengths
    ],
)
def test_the_short_ways_of_writing_columns_read_back_as_rows(
    offsets: list[int], ids: list[str]
) -> None:
    rows = zip(offsets, ids, strict=True)
    trails = [trail(offset, id_, outputs=(("t", f"o{offset}", "x.T"),)) for offset, id_ in rows]
    events = events_of(read(trails))
    assert [(e.input.offset, e.input.event_id) for e in events if e.input] == list(
        zip(offsets, ids, strict=True)
    )


def test_the_row_by_row_format_of_older_logs_still_reads() -> None:
    rows = PlainDecisions(
        agent="fraud", agent_version="1", topic="t", partition=2, names=["x.T", "out", "x.O"],
        offset=40, at_ms=7_000, rows=[
            PlainDecision(offset_delta=0, event_id="e1", at_delta_ms=0, duration_ms=1.5,
                          attempt=1, type=0, outputs=[PlainOutput(topic=1, event_id="o1", type=2)]),
            PlainDecision(offset_delta=2, event_id="e2", correlation_id="root", at_delta_ms=4,
                          duration_ms=0.5, attempt=2, type=0, outputs=[]),
        ],
    )  # fmt: skip
    out = io.BytesIO()  # (the shipped schema still holds the old field)
    fastavro.schemaless_writer(out, SCHEMA, AuditBatch(plain=[rows]).model_dump())
    out.seek(0)
    batch = AuditBatch.model_validate(fastavro.schemaless_reader(out, SCHEMA))
    got = [(e.decision_id, e.correlation_id, e.at_ms, e.duration_ms, e.attempt,
            e.input.offset if e.input else None, [(o.topic, o.type) for o in e.outputs])
           for e in events_of(batch)]  # fmt: skip
    assert got == [
        ("fraud/e1", "e1", 7_000, 1.5, 1, 40, [("out", "x.O")]),
        ("fraud/e2", "root", 7_004, 0.5, 2, 42, []),
    ]


def test_a_position_past_the_names_is_an_error_not_a_wrong_decision() -> None:
    rows = PlainDecisions(
        agent="fraud", agent_version="1", topic="t", partition=0, names=["x.T"], offset=0,
        at_ms=0, rows=[PlainDecision(offset_delta=0, event_id="e", at_delta_ms=0,
                                     duration_ms=0.0, attempt=1, type=3, outputs=[])],
    )  # fmt: skip
    with pytest.raises(ValueError, match="past their 1 names"):
        expand_rows(rows)
    for wrong in (_columns(type=3), _columns(type=-1), _columns(output_topic=0, output_type=-2)):
        with pytest.raises(ValueError, match="past their 1 names"):
            expand_columns(wrong)


def test_columns_that_disagree_are_an_error_not_wrong_decisions() -> None:
    with pytest.raises(ValueError, match="unequal lengths"):
        expand_columns(_columns(began=[]))
    with pytest.raises(ValueError, match="2 output ids for 1 rows"):
        expand_columns(_columns(output_topic=0, output_ids=["o1", "o2"]))
    with pytest.raises(ValueError, match="odd row out of range"):
        expand_columns(_columns(odd=[PlainOdd(row=1, attempt=2, type=0, outputs=[])]))


def _columns(**changes: Any) -> PlainColumns:
    fields: dict[str, Any] = dict(
        agent="fraud", agent_version="1", topic="t", partition=0, names=["x.T"], type=0,
        output_topic=-1, output_type=0, offset=0, at_ms=0, clock=1.0, offset_deltas=[0],
        event_ids=["e"], lineage=[PlainLineage()], began=[1.0], ended=[1.0], output_ids=[],
        odd=[],
    )  # fmt: skip
    return PlainColumns(**{**fields, **changes})


def test_the_causation_is_found_where_hivebus_puts_it_and_anywhere_else() -> None:
    ordered = [(f"h{i}", b"v") for i in range(7)] + [("ce_causationid", b"c1")]
    assert causation_of(ordered) == b"c1"
    assert causation_of([("ce_causationid", b"c2"), ("ce_id", b"e")]) == b"c2"
    assert causation_of([("ce_id", b"e")]) is None and causation_of(None) is None


def test_a_row_that_fails_half_way_is_taken_back_and_the_columns_still_read() -> None:
    class Broken(_Type):
        @property
        def fullname(self) -> str:  # type: ignore[override]
            raise RuntimeError("a contract without a name")

    good = trail(1, "g1", outputs=(("t", "o1", "x.T"),))
    bad = trail(2, "b2", outputs=(("t", "o2", "x.T"), ("t", "o3", "x.T")))
    bad.outputs[1] = ("t", b"o3", Broken(), 1)  # type: ignore[assignment]
    agent, topic = wire.string(b"fraud") + wire.string(b"2.0"), wire.string(b"transactions.card")
    columns = Columns(agent, topic, 4, 1, 1_000, 10.0, good)
    add(columns, good)
    with pytest.raises(RuntimeError, match="without a name"):
        add(columns, bad)
    add(columns, trail(3, "g3", outputs=(("t", "o4", "x.T"),)))
    value = batch_value(frame_header(7), [], [columns.body()])
    batch = AuditBatch.model_validate(fastavro.schemaless_reader(io.BytesIO(value[5:]), SCHEMA))
    assert [(e.input.event_id if e.input else None) for e in events_of(batch)] == ["g1", "g3"]
