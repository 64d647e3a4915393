"""What an agent had seen at step K of a run: the input and the step results up to K.

Pure assembly from what the audit recorded, with the run's journal (a durable run) to fill
what the audit lacks: a step that ran in a transaction that never committed, say, is in the
journal but not in the audit. Steps are numbered from 1, as `hivebus runs show` does. A plain
(not durable) handling is named by its decision id or the ce_id of the event it handled; its
steps are those of its last attempt.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hivebus.audit.blobs import digest_of, is_ref
from hivebus.audit.records import DECISION, STEP, AuditEvent, InputRef
from hivebus.audit.redact import scrub

Blob = Callable[[str], str | None]


@dataclass(frozen=True)
class SeenStep:
    number: int  # from 1
    name: str
    outcome: str
    duration_ms: float
    result: Any = None  # JSON data
    error: str | None = None
    source: str = "audit"  # or "journal"


@dataclass
class Snapshot:
    ident: str
    agent: str
    run_id: str | None
    upto: int | None  # None: every step
    input_ref: InputRef | None
    input: Any = None
    input_source: str | None = None  # audit, journal or kafka; None: not found
    steps: list[SeenStep] = field(default_factory=list)
    total_steps: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.ident, "agent": self.agent, "run_id": self.run_id, "step": self.upto,
            "input_ref": self.input_ref.model_dump() if self.input_ref else None,
            "input": self.input, "input_source": self.input_source,
            "steps": [vars(step) for step in self.steps], "total_steps": self.total_steps,
        }  # fmt: skip


def snapshot(
    ident: str, events: list[AuditEvent], upto: int | None, *, blob: Blob,
    journal: Any = None, fetched: Any = None, secrets: set[str] | None = None,
) -> Snapshot | None:  # fmt: skip
    """`events`: the audit events of the run's decisions. `journal`: its RunJournal, if any;
    `fetched`: the input read from Kafka by reference (redacted JSON data), if it was;
    `secrets`: values to scrub from journal-sourced results. None when nothing is known."""
    decisions = [e for e in events if e.kind == DECISION]
    if not decisions and journal is None:
        return None
    last = decisions[-1] if decisions else None
    found = Snapshot(
        ident, journal.agent if journal is not None else last.agent if last else "?",
        journal.run_id if journal is not None else last.run_id if last else None, upto,
        last.input if last else None,
    )  # fmt: skip
    payload = last.input.payload if last is not None and last.input is not None else None
    if payload is not None:
        text = blob(digest_of(payload)) if is_ref(payload) else payload
        if text is not None:
            found.input, found.input_source = json.loads(text), "audit"
    if found.input_source is None and fetched is not None:
        found.input, found.input_source = fetched, "journal" if journal is not None else "kafka"
    steps = _audited_steps(events, durable=journal is not None or bool(last and last.run_id))
    if journal is not None:
        for step in journal.steps:
            number = step.seq + 1
            if number not in steps:
                steps[number] = _journal_step(step, secrets or set())
    found.total_steps = len(steps)
    found.steps = [steps[n] for n in sorted(steps) if upto is None or n <= upto]
    return found


def _audited_steps(events: list[AuditEvent], durable: bool) -> dict[int, SeenStep]:
    """Step number -> what the audit says; for a plain handling, its last attempt's only."""
    steps = [e for e in events if e.kind == STEP and e.step is not None]
    if not durable and steps:
        last_decision = max(steps, key=lambda e: e.at_ms).decision_id
        steps = [e for e in steps if e.decision_id == last_decision]
        last_attempt = max(e.attempt for e in steps)
        steps = [e for e in steps if e.attempt == last_attempt]
    found: dict[int, SeenStep] = {}
    for event in sorted(steps, key=lambda e: (e.at_ms, e.seq)):
        step = event.step
        assert step is not None
        result = json.loads(step.result) if step.result is not None else step.result_ref
        error = f"{event.error.type}: {event.error.message}" if event.error else None
        found[step.position + 1] = SeenStep(
            step.position + 1, step.name, event.outcome, event.duration_ms, result, error
        )
    return found


def _journal_step(step: Any, secrets: set[str]) -> SeenStep:
    result: Any = None
    if step.outcome == "ok" and step.value is not None and not step.codec.startswith("ref:"):
        try:
            result = json.loads(scrub(step.value.decode(errors="replace"), secrets))
        except ValueError:
            result = None
    error = f"{step.error_type}: {scrub(step.error or '', secrets)}" if step.error_type else None
    return SeenStep(step.seq + 1, step.name, step.outcome, step.duration_ms, result, error,
                    source="journal")  # fmt: skip
