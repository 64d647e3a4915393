"""Plain decisions in columns read back, through fastavro and the .avsc, as the decisions
they stand for."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import fastavro
import pytest

from hivebus.audit import wire
from hivebus.audit.batches import batch_value
from hivebus.audit.plain import Columns, causation_of, events_of, expand
from hivebus.audit.records import AuditBatch, PlainDecision, PlainDecisions
from hivebus.audit.trail import Trail
from hivebus.contracts.wire import frame_header

SCHEMA = fastavro.parse_schema(AuditBatch.contract().schema)


@dataclass
class _Message:
    at: int

    def offset(self) -> int:
        return self.at


@dataclass
class _Type:
    fullname: str


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
        _Job(_Message(offset), headers if with_headers else None), _Type(type), attempt
    )
    cause = event_id.encode()
    correlated = correlation.encode() if correlation else cause
    lineage = (cause, correlated, run.encode() if run else None)
    made = Trail(call, lineage)
    made.clock = 10.0 + (started_ms - 1_000) / 1000  # `read`'s columns began at 1_000, 10.0
    made.ended = made.clock + took_s
    made.outputs = [(t, i.encode(), _Type(n), attempt) for t, i, n in outputs]  # type: ignore[misc]
    return made


def read(trails: list[Trail]) -> AuditBatch:
    agent, topic = wire.string(b"fraud") + wire.string(b"2.0"), wire.string(b"transactions.card")
    columns = Columns(agent, topic, 4, trails[0].call.job.message.offset(), 1_000, 10.0)
    for made in trails:
        columns.add(made)
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
                      made.clock)  # fmt: skip
    columns.add(made)
    value = batch_value(frame_header(7), [plain], [columns.body()])
    batch = AuditBatch.model_validate(fastavro.schemaless_reader(io.BytesIO(value[5:]), SCHEMA))
    assert [e.decision_id for e in events_of(batch)] == ["fraud/e9", "fraud/e10"]
    empty = batch_value(frame_header(7), [])
    assert fastavro.schemaless_reader(io.BytesIO(empty[5:]), SCHEMA) == {"events": [], "plain": []}


def test_a_row_naming_a_missing_name_is_an_error_not_a_wrong_decision() -> None:
    group = PlainDecisions(
        agent="fraud", agent_version="1", topic="t", partition=0, names=["x.T"], offset=0,
        at_ms=0, rows=[PlainDecision(offset_delta=0, event_id="e", at_delta_ms=0,
                                     duration_ms=0.0, attempt=1, type=3, outputs=[])],
    )  # fmt: skip
    with pytest.raises(ValueError, match="past their 1 names"):
        expand(group)


def test_the_causation_is_found_where_hivebus_puts_it_and_anywhere_else() -> None:
    ordered = [(f"h{i}", b"v") for i in range(7)] + [("ce_causationid", b"c1")]
    assert causation_of(ordered) == b"c1"
    assert causation_of([("ce_causationid", b"c2"), ("ce_id", b"e")]) == b"c2"
    assert causation_of([("ce_id", b"e")]) is None and causation_of(None) is None
