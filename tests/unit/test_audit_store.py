"""The projections in SQLite: timelines, statistics per agent, cost per correlation, and
what an agent had seen at step K."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hivebus.audit.at import snapshot
from hivebus.audit.records import (
    LATE,
    AuditEvent,
    ErrorInfo,
    InputRef,
    LLMCall,
    OutputRef,
    StepInfo,
)
from hivebus.audit.store import AuditStore
from hivebus.durable.records import JournalStep, RunJournal


def audit(kind: str, decision: str, seq: int, at: int, **fields: Any) -> AuditEvent:
    defaults: dict[str, Any] = {"agent": "a", "agent_version": "1", "correlation_id": "c1",
                                "duration_ms": 2.0, "outcome": "ok"}  # fmt: skip
    return AuditEvent(kind=kind, decision_id=decision, seq=seq, at_ms=at, **{**defaults, **fields})


def llm(decision: str, seq: int, at: int, cost: float | None, **fields: Any) -> AuditEvent:
    call = LLMCall(model="m", requested_model="m", prompt_tokens=10, completion_tokens=5,
                   latency_ms=30.0, cost=cost)  # fmt: skip
    return audit("llm", decision, seq, at, llm=call, **fields)


def step(decision: str, seq: int, at: int, name: str, position: int, result: str,
         **fields: Any) -> AuditEvent:  # fmt: skip
    info = StepInfo(name=name, position=position, durable="run_id" in fields, result=result)
    return audit("step", decision, seq, at, step=info, **fields)


def given(event_id: str, payload: str | None = None) -> InputRef:
    return InputRef(topic="t", partition=0, offset=1, event_id=event_id, type="x.T",
                    payload=payload)  # fmt: skip


def test_projections_survive_a_reread_and_count_per_agent_and_correlation(tmp_path: Path) -> None:
    events = [
        step("a/e1", 0, 11, "score", 0, "1"),
        llm("a/e1", 1, 12, 0.002),
        audit("decision", "a/e1", 2, 10, input=given("e1"), duration_ms=4.0),
        llm("b/e2", 0, 21, None, agent="b"),
        audit("decision", "b/e2", 1, 20, agent="b", input=given("e2"), outcome="dead-lettered"),
        audit("decision", "a/e9", 0, 30, correlation_id="c2", input=given("e9")),
    ]
    path = str(tmp_path / "audit.db")
    store = AuditStore(path)
    assert store.add(events) == 6
    store.advance("hivebus.audit", {0: 6})
    store.close()
    store = AuditStore(path)  # a store kept in a file: read again, nothing is counted twice
    assert store.add(events) == 0 and store.positions("hivebus.audit") == {0: 6}
    timeline = store.timeline("c1")
    assert [(e.decision_id, e.kind) for e in timeline] == [
        ("a/e1", "step"), ("a/e1", "llm"), ("a/e1", "decision"),
        ("b/e2", "llm"), ("b/e2", "decision"),
    ]  # fmt: skip
    stats = {s.agent: s for s in store.agent_stats()}
    assert (stats["a"].decisions, stats["a"].ok, stats["a"].steps, stats["a"].llm_calls) == (
        2,
        2,
        1,
        1,
    )
    assert stats["a"].max_ms == 4.0 and stats["a"].tokens == 15 and stats["a"].cost == 0.002
    assert (stats["b"].dead_lettered, stats["b"].cost) == (1, None)  # no price, no made-up cost
    costs = {c.correlation_id: c for c in store.costs()}
    assert (costs["c1"].llm_calls, costs["c1"].prompt_tokens, costs["c1"].cost) == (2, 20, 0.002)
    assert "c2" not in costs
    assert store.decisions_for("e2") == ["b/e2"] and store.decisions_for("a/e9") == ["a/e9"]


def test_at_step_k_a_run_shows_its_input_and_the_steps_up_to_k() -> None:
    run = {"run_id": "r1", "agent": "scout"}
    events = [
        step("scout/r1/a", 0, 11, "plan", 0, '{"q":["x"]}', **run),
        audit("decision", "scout/r1/a", 1, 10, input=given("r1"), outcome="sleeping", **run),
        step("scout/r1/b", 0, 31, "search x", 2, '"page"', **run),  # after the wake
        audit("decision", "scout/r1/b", 1, 30, input=given("r1"), outcome="completed", **run),
    ]
    journal = RunJournal(
        run_id="r1", agent="scout", state="completed", topic="t", offset=1,
        started_at="2026-01-01T00:00:00Z", updated_at="2026-01-01T00:00:01Z",
        steps=[  # position 1 is in the journal only (its audit never committed, say)
            JournalStep(seq=1, name="hivebus:sleep", outcome="ok", codec="json",
                        value=b'"2026-01-01T00:00:00.500Z secret-7"',
                        started_at="2026-01-01T00:00:00Z", duration_ms=0.1),
        ],
    )  # fmt: skip
    seen = snapshot("r1", events, 2, blob=lambda _: None, journal=journal,
                    fetched={"id": "L1", "owner": "[redacted]"}, secrets={"secret-7"})  # fmt: skip
    assert seen is not None
    assert (seen.agent, seen.run_id, seen.total_steps) == ("scout", "r1", 3)
    assert seen.input == {"id": "L1", "owner": "[redacted]"} and seen.input_source == "journal"
    assert [(s.number, s.name, s.result, s.source) for s in seen.steps] == [
        (1, "plan", {"q": ["x"]}, "audit"),
        (2, "hivebus:sleep", "2026-01-01T00:00:00.500Z [redacted]", "journal"),
    ]
    everything = snapshot("r1", events, None, blob=lambda _: None, journal=journal)
    assert everything is not None and [s.number for s in everything.steps] == [1, 2, 3]


def test_at_a_plain_handling_shows_its_last_attempt_and_its_kept_input() -> None:
    events = [
        step("a/e1", 0, 11, "lookup", 0, '"first try"', attempt=1),
        step("a/e1", 1, 12, "lookup", 0, '"second try"', attempt=2),
        audit("decision", "a/e1", 2, 10, input=given("e1", '{"id":"t1"}'), attempt=2),
    ]
    seen = snapshot("e1", events, 1, blob=lambda _: None)
    assert seen is not None and seen.input == {"id": "t1"} and seen.input_source == "audit"
    assert [(s.number, s.result) for s in seen.steps] == [(1, "second try")]
    assert snapshot("nothing", [], 1, blob=lambda _: None) is None


def test_a_late_dead_letter_and_the_handling_s_own_decision_merge_in_either_order() -> None:
    out = OutputRef(topic="flagged", event_id="o1", type="x.Flagged")
    scored = step("a/e5", 0, 49, "score", 0, "0.9")  # the handling's own events: seq 0 and 1
    handled = audit("decision", "a/e5", 1, 50, input=given("e5"), outputs=[out], attempt=1)
    error = ErrorInfo(type="MSG_SIZE_TOO_LARGE", message="too large", dead_letter_topic="dlq")
    # As dead_letters.py writes it: after the handling's events (seq LATE), no outputs.
    late = audit("decision", "a/e5", LATE, 60, input=given("e5"), outcome="dead-lettered",
                 duration_ms=0.0, attempt=1, error=error)  # fmt: skip
    again = audit("decision", "a/e5", 1, 70, input=given("e5"), attempt=2)  # a redelivery
    for order in ([scored, handled, late, again], [late, scored, handled, again]):
        store = AuditStore()
        assert [store.add([event]) for event in order] == [1, 1, 1, 0]
        kept = store.events(correlation_id="c1")
        assert [(e.kind, e.seq) for e in kept] == [("step", 0), ("decision", 1)]
        decision = kept[1]
        assert (decision.outcome, decision.error, decision.outputs) == (
            "dead-lettered",
            error,
            [out],
        )
        assert (decision.at_ms, decision.duration_ms, decision.attempt) == (50, 2.0, 1)
        [stats] = store.agent_stats()
        assert (stats.decisions, stats.dead_lettered) == (1, 1)


def test_only_a_late_dead_letter_merges_a_handler_s_own_dead_letter_does_not() -> None:
    handled = audit("decision", "a/e6", 0, 50, input=given("e6"))
    refused = audit(
        "decision",
        "a/e6",
        0,
        60,
        input=given("e6"),
        outcome="dead-lettered",
        error=ErrorInfo(type="ValueError", message="no"),
    )  # a redelivery's, say
    store = AuditStore()
    assert [store.add([event]) for event in (handled, refused)] == [1, 0]
    [decision] = store.events(correlation_id="c1")
    assert decision.outcome == "ok" and decision.error is None
