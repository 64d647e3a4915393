"""A task's A2A events, derived from its run's journal the way the gateway's own events are.

Each A2A event comes from one event of the task (events.py): `submitted` is the `Task`, a
step is a `working` status update carrying the step, a wait for a signal is
`input-required` with a message naming the signal, the end is the run's artifacts and then
its final status. An A2A event's version is where it stands: the gateway event it comes from
(after n steps, at status rank r) and its index among the A2A events made of that one. Any
replica computes the same events with the same versions from the same journal, so a client
that resubscribes anywhere is sent exactly the events after the task it was given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from a2a.types import (
    Message,
    Part,
    Role,
    Task,
    TaskArtifactUpdateEvent,
    TaskState,
    TaskStatus,
    TaskStatusUpdateEvent,
)
from google.protobuf import json_format

from hivebus.durable import RunJournal
from hivebus.gateway.a2a.parts import data_part, is_message_json, message_of
from hivebus.gateway.a2a.results import results_of
from hivebus.gateway.a2a.state import REJECTED, STATES
from hivebus.gateway.events import COMPLETED, FAILED, SUBMITTED, WORKING, EventId, events_of
from hivebus.gateway.records import TaskRecord
from hivebus.gateway.status import task_data

SUB = 1 << 16  # A2A events made of one gateway event, at most
WAIT_STEP = "hivebus:wait:"
TASK_META = "hivebus"  # a task's metadata: its agent, topic, type, key
EVENT_META = "hivebusEvent"  # an event's: the gateway event it comes from (and a step's data)

A2AEvent = Task | TaskStatusUpdateEvent | TaskArtifactUpdateEvent


@dataclass(frozen=True)
class FollowUp:
    """A wait that is over: what the agent asked and what the user answered. It is the
    task's history, never a streamed event."""

    asked: Message
    answer: Message


@dataclass(frozen=True)
class Versioned:
    version: int
    event: A2AEvent | FollowUp


def version(event_id: EventId, index: int = 0) -> int:
    """Never 0, which the SDK reads as "no version"."""
    return 1 + (event_id.steps * 4 + event_id.rank) * SUB + index


def context_of(task: TaskRecord) -> str:
    """A task submitted over HTTP has no A2A context: its own id is one."""
    return task.context_id or task.task_id


def a2a_events(
    task: TaskRecord, journal: RunJournal | None, outputs: list[dict[str, Any]]
) -> list[Versioned]:
    """Every A2A event of the task up to this journal version, in order; `outputs` are the
    events a completed run published (its results)."""
    made: list[Versioned] = []
    for event in events_of(journal, task_data(task)):
        eid, data = event.id, event.data
        meta: dict[str, Any] = {"id": str(eid), "event": event.kind}
        if event.kind == SUBMITTED:
            made.append(Versioned(version(eid), first_task(task)))
        elif event.kind == "step":
            if data["name"].startswith(WAIT_STEP) and "value" in data:
                made.append(Versioned(version(eid), _follow_up(task, data)))
            at = _after(data["started_at"], data["duration_ms"])
            status = _status(task, WORKING, at, {**meta, "step": camel(data)})
            made.append(Versioned(version(eid, 1), status))
        elif journal is not None and event.kind == "waiting":
            asked = _asked(task, data["signal"], data["position"])
            meta.update(signal=data["signal"], until=data["until"])
            status = _status(task, event.state, journal.updated_at, meta, asked)
            made.append(Versioned(version(eid), status))
        elif journal is not None and event.kind == COMPLETED:
            made += _completed(task, eid, journal.updated_at, meta, outputs)
        elif journal is not None:  # parked (working), failed, canceled
            text = data.get("detail") if event.kind == FAILED else None
            message = _agent_message(task, f"{eid}", [Part(text=text)]) if text else None
            meta["detail"] = data.get("detail")
            status = _status(task, event.state, journal.updated_at, meta, message)
            made.append(Versioned(version(eid), status))
    for versioned in made:
        if isinstance(versioned.event, TaskStatusUpdateEvent | TaskArtifactUpdateEvent):
            versioned.event.metadata.get_or_create_struct(EVENT_META)["version"] = versioned.version
    return made


def camel(data: dict[str, Any]) -> dict[str, Any]:
    """A step's data with A2A's camelCase keys (`durationMs`); its value is left as it is."""
    return {
        _camel(key): camel(value) if isinstance(value, dict) and key != "value" else value
        for key, value in data.items()
    }


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(word.title() for word in rest)


def first_task(task: TaskRecord) -> Task:
    """The task as it is submitted: its first event, with the message that started it."""
    first = Task(id=task.task_id, context_id=context_of(task))
    first.status.state = TaskState.TASK_STATE_SUBMITTED
    first.status.timestamp.FromDatetime(_moment(task.submitted_at))
    if task.message:
        first.history.append(json_format.Parse(task.message, Message()))
    info = {"agent": task.agent, "topic": task.topic, "type": task.type, "key": task.key}
    first.metadata.update({TASK_META: info})
    return first


def _completed(
    task: TaskRecord, eid: EventId, at: str, meta: dict[str, Any], outputs: list[dict[str, Any]]
) -> list[Versioned]:
    results = results_of(outputs)
    made = []
    for index, chunk in enumerate(results.chunks):
        update = TaskArtifactUpdateEvent(
            task_id=task.task_id,
            context_id=context_of(task),
            artifact=chunk.artifact,
            append=chunk.append,
            last_chunk=chunk.last_chunk,
        )
        update.metadata.update({EVENT_META: meta})
        made.append(Versioned(version(eid, index), update))
    text = results.text
    message = _agent_message(task, f"{eid}", [Part(text=text)]) if text is not None else None
    state = REJECTED if results.rejected else STATES[COMPLETED]
    status = _status(task, COMPLETED, at, meta, message, state)
    return [*made, Versioned(version(eid, len(made)), status)]


def _status(
    task: TaskRecord,
    state: str,
    at: str,
    meta: dict[str, Any],
    message: Message | None = None,
    exact: TaskState | None = None,
) -> TaskStatusUpdateEvent:
    status = TaskStatus(state=exact if exact is not None else STATES[state])
    status.timestamp.FromDatetime(_moment(at))
    if message is not None:
        status.message.CopyFrom(message)
    update = TaskStatusUpdateEvent(task_id=task.task_id, context_id=context_of(task), status=status)
    update.metadata.update({EVENT_META: meta})
    return update


def _asked(task: TaskRecord, signal: str, position: int) -> Message:
    """What a wait asks the user: the same from the waiting run and from the finished wait."""
    text = f"waiting for the signal {signal!r}: send a message to this task to give it"
    return _agent_message(
        task, f"wait-{position}", [Part(text=text), data_part({"signal": signal})]
    )


def _follow_up(task: TaskRecord, step: dict[str, Any]) -> FollowUp:
    signal, position, value = step["name"][len(WAIT_STEP) :], step["position"], step["value"]
    if is_message_json(value):
        answer = message_of(value)
    else:
        part = Part(text=value) if isinstance(value, str) else data_part(value)
        answer = Message(message_id=f"{task.task_id}-signal-{position}", parts=[part])
        answer.role = Role.ROLE_USER
    answer.task_id, answer.context_id = task.task_id, context_of(task)
    return FollowUp(_asked(task, signal, position), answer)


def _agent_message(task: TaskRecord, what: str, parts: list[Part]) -> Message:
    return Message(
        message_id=f"{task.task_id}-{what}",
        context_id=context_of(task),
        task_id=task.task_id,
        role=Role.ROLE_AGENT,
        parts=parts,
    )


def _after(started_at: str, duration_ms: float) -> str:
    return (_moment(started_at) + timedelta(milliseconds=duration_ms)).isoformat()


def _moment(stamp: str) -> datetime:
    """An RFC 3339 time of the gateway or a worker (UTC when it names no offset)."""
    moment = datetime.fromisoformat(stamp)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
