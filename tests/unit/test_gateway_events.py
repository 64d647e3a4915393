"""A task's events from its run's journal versions: order, ids, resuming, states."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hivebus.durable import RunJournal
from hivebus.durable.records import JournalStep
from hivebus.gateway.events import (
    EventId,
    TaskEvent,
    events_after,
    events_of,
    task_state,
    waiting_signal,
)

TASK = {"agent": "scout", "topic": "leads", "type": "x.Lead", "key": None, "submitted_at": "t"}


def step(seq: int, name: str, value: Any = None, outcome: str = "ok") -> JournalStep:
    return JournalStep(
        seq=seq,
        name=name,
        outcome=outcome,
        codec="json",
        value=json.dumps(value).encode(),
        started_at="2026-01-01T00:00:00.000Z",
        duration_ms=1.0,
        error_type="Boom" if outcome != "ok" else None,
        error="it broke" if outcome != "ok" else None,
    )


def journal(state: str, steps: list[JournalStep], **extra: Any) -> RunJournal:
    return RunJournal(
        run_id="t1",
        agent="scout",
        state=state,
        steps=steps,
        topic="leads",
        offset=0,
        started_at="2026-01-01T00:00:00.000Z",
        updated_at="2026-01-01T00:00:05.000Z",
        **extra,
    )


def ids(events: list[TaskEvent]) -> list[str]:
    return [str(e.id) for e in events]


def replay(versions: list[RunJournal | None], after: EventId | None = None) -> list[TaskEvent]:
    """What a stream sends for these successive journal versions."""
    sent: list[TaskEvent] = []
    last = after
    for version in versions:
        for event in events_after(version, TASK, last):
            sent.append(event)
            last = event.id
    return sent


PLAN, SEARCH, WRITE = step(0, "plan", "p"), step(1, "search", ["a"]), step(2, "write", "w")
VERSIONS: list[RunJournal | None] = [
    None,
    journal("running", [PLAN]),
    journal("running", [PLAN, SEARCH]),
    journal("waiting", [PLAN, SEARCH], waiting_for="approval@2"),
    journal("running", [PLAN, SEARCH, step(2, "hivebus:wait:approval", {"by": "ada"})]),
    journal("completed", [PLAN, SEARCH, step(2, "hivebus:wait:approval", {"by": "ada"}), WRITE]),
]


def test_each_version_adds_only_what_is_new_and_the_stream_ends_with_the_terminal_event() -> None:
    sent = replay(VERSIONS)
    assert ids(sent) == ["0", "1", "2", "2.waiting", "3", "4", "4.end"]
    assert [e.kind for e in sent] == [
        "submitted",
        "step",
        "step",
        "waiting",
        "step",
        "step",
        "completed",
    ]
    assert [e.state for e in sent] == [
        "submitted",
        "working",
        "working",
        "input-required",
        "working",
        "working",
        "completed",
    ]
    assert sent[1].data["name"] == "plan" and sent[1].data["value"] == "p"
    assert sent[3].data == {"signal": "approval", "position": 2, "until": None}
    assert sent[-1].terminal and not any(e.terminal for e in sent[:-1])


def test_a_version_seen_twice_or_an_older_one_sends_nothing_again() -> None:
    repeated = [VERSIONS[0], VERSIONS[2], VERSIONS[2], VERSIONS[1], VERSIONS[5]]
    assert ids(replay(repeated)) == ["0", "1", "2", "3", "4", "4.end"]


@pytest.mark.parametrize("cut", range(1, 7))
def test_resuming_after_any_event_sends_exactly_the_rest_on_a_live_or_a_compacted_journal(
    cut: int,
) -> None:
    whole = replay(VERSIONS)
    seen, rest = whole[:cut], whole[cut:]
    # Another replica goes on from the version the client's last event came from.
    came_from = next(
        i
        for i, v in enumerate(VERSIONS)
        if seen[-1].id in {e.id for e in replay(VERSIONS[: i + 1])}
    )
    assert replay(VERSIONS[came_from:], seen[-1].id) == rest
    # After compaction only the newest version is left: the rest, less a wait that is over.
    assert ids(replay([VERSIONS[-1]], seen[-1].id)) == [i for i in ids(rest) if i != "2.waiting"]


def test_event_ids_round_trip_and_order_as_the_events_happen() -> None:
    texts = ["0", "1", "2", "2.waiting", "2.parked", "2.end", "10"]
    parsed = [EventId.parse(t) for t in texts]
    assert [str(p) for p in parsed] == texts
    assert parsed == sorted(parsed)
    for bad in ["", "x", "2.done", "-1", "1.2"]:
        with pytest.raises(ValueError):
            EventId.parse(bad)


def test_states_of_runs_in_the_tasks_words() -> None:
    assert task_state(None) == "submitted"
    assert task_state(journal("pending", [])) == "submitted"
    assert task_state(journal("sleeping", [PLAN])) == "working"
    assert task_state(journal("parked", [PLAN], detail="changed")) == "working"
    assert task_state(journal("failed", [PLAN])) == "failed"
    assert task_state(journal("cancelled", [PLAN])) == "canceled"
    assert task_state(journal("waiting", [PLAN], waiting_for="approval@1")) == "input-required"


def test_a_run_waiting_for_replies_of_calls_is_working_not_waiting_for_input() -> None:
    called = [PLAN, step(1, "hivebus:call:prices"), step(2, "hivebus:gather")]
    replies = journal("waiting", called, waiting_for="a reply from prices@3")
    assert waiting_signal(replies) is None and task_state(replies) == "working"
    assert ids(events_of(replies, TASK)) == ["0", "1", "2", "3"]


def test_a_cancel_while_waiting_and_a_parked_run_are_status_events_of_their_own() -> None:
    waiting = journal("waiting", [PLAN], waiting_for="approval@1")
    canceled = journal("cancelled", [PLAN], detail="cancelled")
    assert ids(replay([waiting, canceled])) == ["0", "1", "1.waiting", "1.end"]
    assert replay([canceled])[-1].kind == "canceled"
    parked = journal("parked", [PLAN], detail="step 1 was 'a', now 'b'")
    resumed = journal("completed", [PLAN, SEARCH])
    sent = replay([parked, resumed])
    assert ids(sent) == ["0", "1", "1.parked", "2", "2.end"]
    assert sent[2].data["detail"] == "step 1 was 'a', now 'b'"


def test_a_failed_step_carries_its_error_and_large_values_are_left_out() -> None:
    failed = step(0, "charge", None, outcome="failed")
    big = JournalStep(
        seq=1,
        name="read",
        outcome="ok",
        codec="json",
        value=json.dumps("x" * 20_000).encode(),
        started_at="t",
        duration_ms=1.0,
    )
    referenced = JournalStep(
        seq=2,
        name="blob",
        outcome="ok",
        codec="ref:json",
        value=b'{"offsets": [1]}',
        started_at="t",
        duration_ms=1.0,
    )
    sent = events_of(journal("failed", [failed, big, referenced], detail="Boom: it broke"), TASK)
    assert sent[1].data["error"] == {"type": "Boom", "message": "it broke"}
    assert "value" not in sent[2].data and sent[2].data["value_omitted"] == "large"
    assert "value" not in sent[3].data
    assert sent[-1].kind == "failed" and sent[-1].data == {"detail": "Boom: it broke"}
    assert sent[0].payload("t1") == {
        "id": "0",
        "event": "submitted",
        "task": "t1",
        "state": "submitted",
        **TASK,
    }
