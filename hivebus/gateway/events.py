"""A task's status events, derived from its run's newest journal alone.

Each journal record is the run's whole journal so far, so the events a task has had up to a
journal version are a function of that version: `submitted`, one `step` per recorded step in
the order they were recorded, then at most one status event for where the run is now
(`waiting` for a signal, `parked`, or the end: `completed`, `failed`, `canceled`).

An event's id says where in that sequence it stands: `0` is `submitted`, `n` is the n-th
recorded step, `n.waiting` / `n.parked` / `n.end` a status reached after n steps. Ids only
grow as a run goes on, and any replica computes the same ids from the same journal, so a
client resuming after id X is sent exactly the events whose id is greater than X, from any
gateway, and also after compaction left only the run's newest journal record.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hivebus.durable import RunJournal
from hivebus.durable.collect import DEADLINE as COLLECT_DEADLINE
from hivebus.durable.gather import DEADLINE as GATHER_DEADLINE
from hivebus.durable.records import JournalStep

SUBMITTED, WORKING, INPUT_REQUIRED = "submitted", "working", "input-required"
COMPLETED, FAILED, CANCELED = "completed", "failed", "canceled"
TERMINAL = (COMPLETED, FAILED, CANCELED)

# Status events after n steps, in the order a run can reach them without a new step.
_RANKS = {"waiting": 1, "parked": 2, "end": 3}
_ENDS = {"completed": COMPLETED, "failed": FAILED, "cancelled": CANCELED}
_CALL_WAITS = (GATHER_DEADLINE, COLLECT_DEADLINE)  # the step recorded just before such a wait
VALUE_LIMIT = 16 * 1024  # step values larger than this are left out of events


@dataclass(frozen=True, order=True)
class EventId:
    """Where an event stands in its task's sequence: after `steps` steps, status `rank`."""

    steps: int
    rank: int = 0

    def __str__(self) -> str:
        if self.rank == 0:
            return str(self.steps)
        kind = next(name for name, rank in _RANKS.items() if rank == self.rank)
        return f"{self.steps}.{kind}"

    @classmethod
    def parse(cls, text: str) -> EventId:
        """The id a client sent back (`Last-Event-ID`); ValueError if it is none of ours."""
        count, _, kind = text.strip().partition(".")
        if not count.isdigit() or (kind and kind not in _RANKS):
            raise ValueError(f"{text!r} is not an event id of a task stream")
        return cls(int(count), _RANKS[kind] if kind else 0)


@dataclass(frozen=True)
class TaskEvent:
    id: EventId
    kind: str  # submitted, step, waiting, parked, completed, failed, canceled
    state: str  # the task's state once this event happened
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def terminal(self) -> bool:
        return self.kind in TERMINAL

    def payload(self, task_id: str) -> dict[str, Any]:
        """The event as JSON data: what SSE's `data:` and a WebSocket message carry."""
        return {
            "id": str(self.id),
            "event": self.kind,
            "task": task_id,
            "state": self.state,
            **self.data,
        }


def task_state(journal: RunJournal | None) -> str:
    """The task's state in the gateway's words (those of A2A) for the run's journal."""
    if journal is None or journal.state == "pending":
        return SUBMITTED
    if journal.state in _ENDS:
        return _ENDS[journal.state]
    if journal.state == "waiting" and waiting_signal(journal) is not None:
        return INPUT_REQUIRED
    return WORKING  # running, sleeping, waiting for replies of calls, parked


def waiting_signal(journal: RunJournal) -> tuple[str, int] | None:
    """(signal name, step position) when the run waits for a signal, not for call replies."""
    if journal.state != "waiting" or not journal.waiting_for:
        return None
    name, _, position = journal.waiting_for.rpartition("@")
    if not name or not position.isdigit():
        return None
    before = next((s for s in journal.steps if s.seq == int(position) - 1), None)
    if before is not None and before.name in _CALL_WAITS:
        return None
    return name, int(position)


def events_of(journal: RunJournal | None, task: Mapping[str, Any]) -> list[TaskEvent]:
    """Every event of the task up to this journal version, in order; `task` is the task
    record's data, carried by `submitted`."""
    events = [TaskEvent(EventId(0), SUBMITTED, SUBMITTED, dict(task))]
    if journal is None:
        return events
    for index, step in enumerate(journal.steps):
        events.append(TaskEvent(EventId(index + 1), "step", WORKING, step_data(step)))
    status = _status_event(journal, len(journal.steps))
    return [*events, status] if status is not None else events


def events_after(
    journal: RunJournal | None, task: Mapping[str, Any], last: EventId | None
) -> list[TaskEvent]:
    """The events of this journal version a client that has seen up to `last` has not seen."""
    return [e for e in events_of(journal, task) if last is None or e.id > last]


def step_data(step: JournalStep) -> dict[str, Any]:
    data: dict[str, Any] = {
        "position": step.seq,
        "name": step.name,
        "outcome": step.outcome,
        "started_at": step.started_at,
        "duration_ms": step.duration_ms,
        "attempts": step.attempts,
    }
    if step.outcome != "ok":
        data["error"] = {"type": step.error_type, "message": step.error}
    if step.llm_requests:
        data["llm"] = {
            "requests": step.llm_requests,
            "prompt_tokens": step.prompt_tokens,
            "completion_tokens": step.completion_tokens,
        }
    value = step.value
    if value is not None and not step.codec.startswith("ref:") and len(value) <= VALUE_LIMIT:
        with contextlib.suppress(ValueError):  # not JSON: left out
            data["value"] = json.loads(value)
    elif value is not None:
        data["value_omitted"] = "large"
    return data


def _status_event(journal: RunJournal, steps: int) -> TaskEvent | None:
    if journal.state in _ENDS:
        state = _ENDS[journal.state]
        return TaskEvent(EventId(steps, _RANKS["end"]), state, state, {"detail": journal.detail})
    if journal.state == "parked":
        return TaskEvent(
            EventId(steps, _RANKS["parked"]), "parked", WORKING, {"detail": journal.detail}
        )
    waiting = waiting_signal(journal)
    if waiting is not None:
        data = {"signal": waiting[0], "position": waiting[1], "until": journal.wake_at}
        return TaskEvent(EventId(steps, _RANKS["waiting"]), "waiting", INPUT_REQUIRED, data)
    return None
