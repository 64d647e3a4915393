"""A task's status and its event stream, both read from its run's journal.

The stream is the events of each new journal version that the client has not seen (see
events.py), the terminal one carrying the run's result, and ends after it. The status is
the same reading taken once: where the run is now, its steps, its result.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime
from typing import Any

from hivebus.durable import RunJournal
from hivebus.gateway.events import (
    COMPLETED,
    EventId,
    TaskEvent,
    events_after,
    events_of,
    step_data,
    task_state,
)
from hivebus.gateway.records import TaskRecord
from hivebus.gateway.service import Gateway


def task_data(task: TaskRecord) -> dict[str, Any]:
    return {
        "agent": task.agent,
        "topic": task.topic,
        "type": task.type,
        "key": task.key,
        "submitted_at": task.submitted_at,
    }


async def task_events(
    gateway: Gateway, task: TaskRecord, after: EventId | None
) -> AsyncIterator[TaskEvent]:
    """The task's events after `after` (all of them for None), as they happen, up to and
    including the terminal one."""
    feed = await gateway.feed(task.agent)
    data, last = task_data(task), after
    if feed is None:  # the agent's journal topic is not there (yet): only `submitted`
        for event in events_after(None, data, last):
            yield event
        return
    async with feed.watch(task.task_id, _ms(task.submitted_at)) as versions:
        async for value in versions:
            journal = await _journal(gateway, value)
            for event in events_after(journal, data, last):
                if event.terminal and journal is not None:
                    event = await _with_result(gateway, task, journal, event)
                yield event
                last = event.id
                if event.terminal:
                    return


async def task_status(gateway: Gateway, task: TaskRecord) -> dict[str, Any]:
    """The task now: its state, the run's steps so far, the result once it is done."""
    journal = None
    feed = await gateway.feed(task.agent)
    if feed is not None:
        async with feed.watch(task.task_id, _ms(task.submitted_at)) as versions:
            journal = await _journal(gateway, versions.newest())
    events = events_of(journal, task_data(task))
    status: dict[str, Any] = {
        "id": task.task_id,
        **task_data(task),
        "state": task_state(journal),
        "last_event_id": str(events[-1].id),
        "steps": [step_data(step) for step in journal.steps] if journal else [],
        "run": _run(journal),
    }
    if journal is not None and task_state(journal) == COMPLETED:
        outputs = await gateway.results(task, journal)
        status.update(_result(outputs))
    return status


async def _journal(gateway: Gateway, value: bytes | None) -> RunJournal | None:
    """A journal version decoded (its schema fetched off the loop on first sight); None for
    none yet, or for a tombstone: a run forgotten after its retention."""
    if value is None:
        return None
    await gateway.serde.writer_async(value)
    return gateway.serde.decode(value, RunJournal)


async def _with_result(
    gateway: Gateway, task: TaskRecord, journal: RunJournal, event: TaskEvent
) -> TaskEvent:
    if event.kind != COMPLETED:
        return event
    outputs = await gateway.results(task, journal)
    return replace(event, data={**event.data, **_result(outputs)})


def _result(outputs: list[dict[str, Any]]) -> dict[str, Any]:
    """`outputs`: every event the run published; `result`: the value of the last, which is
    the handler's own returned event when it returns one (published after its others)."""
    return {"result": outputs[-1]["value"] if outputs else None, "outputs": outputs}


def _run(journal: RunJournal | None) -> dict[str, Any] | None:
    if journal is None:
        return None
    return {
        "state": journal.state,
        "detail": journal.detail,
        "waiting_for": journal.waiting_for,
        "wake_at": journal.wake_at,
        "started_at": journal.started_at,
        "updated_at": journal.updated_at,
    }


def _ms(stamp: str) -> int:
    return int(datetime.fromisoformat(stamp).timestamp() * 1000)


async def journals(gateway: Gateway, task: TaskRecord) -> AsyncIterator[RunJournal | None]:
    """The task's run's journal as it is now (None: not started yet), then each newer version
    as it is written; endless (the caller stops reading)."""
    feed = await gateway.feed(task.agent)
    if feed is None:  # the agent's journal topic is not there (yet)
        yield None
        return
    async with feed.watch(task.task_id, _ms(task.submitted_at)) as versions:
        async for value in versions:
            yield await _journal(gateway, value)


async def newest_journal(gateway: Gateway, task: TaskRecord) -> RunJournal | None:
    """The task's run's newest journal (None: not started yet), without waiting."""
    feed = await gateway.feed(task.agent)
    if feed is None:
        return None
    async with feed.watch(task.task_id, _ms(task.submitted_at)) as versions:
        return await _journal(gateway, versions.newest())
