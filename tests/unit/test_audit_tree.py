"""The causal tree rebuilt from audit events, and how it is drawn."""

from __future__ import annotations

from typing import Any

from hivebus.audit.records import AuditEvent, InputRef, LLMCall, OutputRef, StepInfo
from hivebus.audit.render import tree_lines
from hivebus.audit.tree import build, walk


def event(kind: str, decision: str, seq: int, at: int, agent: str, **fields: Any) -> AuditEvent:
    return AuditEvent(
        kind=kind, decision_id=decision, seq=seq, agent=agent, agent_version="1",
        correlation_id="c", at_ms=at, duration_ms=1.5, outcome="ok", **fields,
    )  # fmt: skip


def step(decision: str, seq: int, at: int, agent: str, name: str) -> AuditEvent:
    return event("step", decision, seq, at, agent, step=StepInfo(name=name, position=0))


def llm(decision: str, seq: int, at: int, agent: str, step_name: str | None) -> AuditEvent:
    call = LLMCall(model="offline", requested_model="m", step=step_name, prompt_tokens=3,
                   completion_tokens=2, response_ref="sha256:r1")  # fmt: skip
    return event("llm", decision, seq, at, agent, llm=call)


def decision(
    name: str, seq: int, at: int, agent: str, handled: str, causation: str | None,
    outputs: list[tuple[str, str]], run_id: str | None = None,
) -> AuditEvent:  # fmt: skip
    given = InputRef(topic=f"in.{agent}", partition=0, offset=at, event_id=handled,
                     causation_id=causation, type=f"x.In{agent}")  # fmt: skip
    refs = [OutputRef(topic=t, event_id=i, type="x.Out") for t, i in outputs]
    return event("decision", name, seq, at, agent, input=given, outputs=refs, run_id=run_id)


def seed_tree() -> list[AuditEvent]:
    """fraud handles e1 and publishes e2; compliance handles e2 (a step with an LLM call)."""
    return [  # shuffled: the tree does not depend on the order events are read in
        decision("compliance/e2", 2, 20, "compliance", "e2", "e1", [("decisions", "e3")]),
        llm("compliance/e2", 0, 21, "compliance", "rationale"),
        step("fraud/e1", 0, 11, "fraud", "score"),
        step("compliance/e2", 1, 21, "compliance", "rationale"),
        decision("fraud/e1", 1, 10, "fraud", "e1", None, [("flagged", "e2")]),
    ]


def test_decisions_hang_under_the_event_they_handled_across_agents() -> None:
    roots = build(seed_tree())
    shape = [(depth, node.kind, node.id) for depth, node in walk(roots)]
    assert shape == [
        (0, "event", "e1"),
        (1, "decision", "fraud/e1"),
        (2, "step", "fraud/e1/0"),
        (2, "event", "e2"),
        (3, "decision", "compliance/e2"),
        (4, "step", "compliance/e2/1"),
        (5, "llm", "compliance/e2/0"),  # inside the step it was made in
        (4, "event", "e3"),
    ]


def test_an_event_from_outside_the_audit_hangs_under_its_causation() -> None:
    # A durable run sends a call (its request's ce_id is a call id, caused by the run); the
    # callee's decision hangs under the run that sent it.
    events = [
        decision("scout/r1/req", 1, 10, "scout", "r1", None, [], run_id="r1"),
        decision("pricing/call:1", 0, 12, "pricing", "call:scout:0:r1", "r1", []),
        decision("other/x", 0, 5, "other", "x9", "unknown-cause", []),
    ]
    shape = [(depth, node.id) for depth, node in walk(build(events))]
    assert shape == [
        (0, "x9"), (1, "other/x"),
        (0, "r1"), (1, "scout/r1/req"), (2, "call:scout:0:r1"), (3, "pricing/call:1"),
    ]  # fmt: skip


def test_events_that_name_each_other_as_causes_do_not_loop() -> None:
    events = [
        decision("a/1", 0, 1, "a", "e1", "e2", []),
        decision("b/2", 0, 2, "b", "e2", "e1", []),
    ]
    assert len(walk(build(events))) <= 4


def test_the_tree_is_drawn_with_branches_and_the_reply_read_from_its_blob() -> None:
    lines = tree_lines(build(seed_tree()), {"r1": "[offline] Noted."}.get)
    assert lines[0] == "event Infraud on in.fraud[0]@10  (e1)"
    assert lines[1].startswith("└─ decision fraud 1: ok in 1.5 ms")
    assert lines[2] == "   ├─ step score: ok in 1.5 ms"
    # (e2 as compliance read it: where it was, which contract)
    assert lines[3] == "   └─ event Incompliance on in.compliance[0]@20  (e2)"
    assert lines[4].startswith("      └─ decision compliance 1: ok")
    assert lines[5].startswith("         ├─ step rationale: ok")
    assert lines[6].startswith("         │  └─ llm offline: 3+2 tokens")
    assert lines[6].endswith("'[offline] Noted.'")
    assert lines[7].startswith("         └─ event Out on decisions  (e3)")
