"""A2A tasks derived from runs' journals: events, versions, the folded task, inputs, results."""

from __future__ import annotations

import json
from typing import Any

import pytest
from a2a.types import Message, Part, Role, Task, TaskArtifactUpdateEvent, TaskState
from a2a.types import TaskStatusUpdateEvent as Status
from a2a.utils.errors import InvalidParamsError
from google.protobuf import json_format

from hivebus.contracts import contract_from_dict
from hivebus.durable import RunJournal
from hivebus.durable.records import JournalStep
from hivebus.gateway.a2a.contracts import A2AArtifact, A2AMessage, A2APart, A2AReply
from hivebus.gateway.a2a.inputs import answer_of, input_of
from hivebus.gateway.a2a.parts import data_part, message_json, message_of, part_json, part_of
from hivebus.gateway.a2a.snapshot import fold
from hivebus.gateway.a2a.store import _version_in
from hivebus.gateway.a2a.translate import FollowUp, Versioned, a2a_events
from hivebus.gateway.contracts import TopicContract
from hivebus.gateway.outputs import jsonable
from hivebus.gateway.records import TaskRecord
from hivebus.gateway.targets import Target

FIRST = Message(message_id="m1", role=Role.ROLE_USER, parts=[Part(text="go")])
TASK = TaskRecord(
    task_id="t1",
    agent="scout",
    topic="leads",
    type="x.Lead",
    key="t1",
    submitted_at="2026-01-01T00:00:00.000Z",
    context_id="c1",
    message=json_format.MessageToJson(FIRST),
)


def step(seq: int, name: str, value: Any = None) -> JournalStep:
    return JournalStep(
        seq=seq,
        name=name,
        outcome="ok",
        codec="json",
        value=json.dumps(value).encode(),
        started_at="2026-01-01T00:00:01.000Z",
        duration_ms=500.0,
    )


def journal(state: str, steps: list[JournalStep], **extra: Any) -> RunJournal:
    return RunJournal(
        run_id="t1",
        agent="scout",
        state=state,
        steps=steps,
        topic="leads",
        offset=0,
        started_at="2026-01-01T00:00:00.500Z",
        updated_at="2026-01-01T00:00:05.000Z",
        **extra,
    )


def states(made: list[Versioned]) -> list[str]:
    shown = []
    for versioned in made:
        event = versioned.event
        if isinstance(event, Task | Status):
            shown.append(TaskState.Name(event.status.state).removeprefix("TASK_STATE_"))
        else:
            shown.append(type(event).__name__)
    return shown


def reply(**fields: Any) -> dict[str, Any]:
    value = jsonable(A2AReply(**fields).model_dump())  # as outputs are read back
    return output(A2AReply.fullname, value)


def output(type_: str, value: Any) -> dict[str, Any]:
    return {"topic": "out", "partition": 0, "offset": 1, "type": type_, "key": "k", "value": value}


PLAN = step(0, "plan", "p")
WAIT = step(1, "hivebus:wait:approval", {"by": "ada"})


def test_a_task_is_submitted_then_one_working_update_per_step_with_growing_versions() -> None:
    made = a2a_events(TASK, journal("running", [PLAN, step(1, "search", ["a"])]), [])

    assert states(made) == ["SUBMITTED", "WORKING", "WORKING"]
    versions = [v.version for v in made]
    assert versions == sorted(versions) and versions[0] == 1 and len(set(versions)) == 3
    first = made[0].event
    assert isinstance(first, Task) and first.id == "t1" and first.context_id == "c1"
    assert [m.message_id for m in first.history] == ["m1"]
    update = made[1].event
    assert isinstance(update, Status)
    meta = json_format.MessageToDict(update.metadata)["hivebusEvent"]
    assert meta["id"] == "1" and meta["step"]["name"] == "plan" and meta["step"]["value"] == "p"
    assert _version_in(update) == made[1].version
    assert update.status.timestamp.ToJsonString() == "2026-01-01T00:00:01.500Z"


def test_a_wait_for_a_signal_is_input_required_and_once_answered_is_in_the_history() -> None:
    waiting = a2a_events(TASK, journal("waiting", [PLAN], waiting_for="approval@1"), [])
    answered = a2a_events(TASK, journal("running", [PLAN, WAIT]), [])

    assert states(waiting)[-1] == "INPUT_REQUIRED"
    asked = waiting[-1].event
    assert isinstance(asked, Status) and "approval" in asked.status.message.parts[0].text
    assert states(answered) == ["SUBMITTED", "WORKING", "FollowUp", "WORKING"]
    follow = answered[2].event
    assert isinstance(follow, FollowUp) and follow.asked == asked.status.message
    task, version = fold(answered)
    assert [m.message_id for m in task.history] == ["m1", "t1-wait-1", "t1-signal-1"]
    assert json_format.MessageToDict(task.history[2].parts[0].data) == {"by": "ada"}
    assert task.status.state == TaskState.TASK_STATE_WORKING and version == answered[-1].version
    # The versions of the waiting task come before those after its answer.
    assert waiting[-1].version < answered[-1].version


def test_a_reply_makes_chunked_artifacts_and_the_closing_message() -> None:
    chunks = [
        A2AArtifact(artifact_id="a", parts=[A2APart(text="chunk-1 ")]),
        A2AArtifact(parts=[A2APart(text="chunk-2")], append=True, last_chunk=True),
        A2AArtifact(name="f", parts=[A2APart(raw=b"\xfftck", filename="o.txt")]),
    ]
    done = journal("completed", [PLAN])

    made = a2a_events(TASK, done, [reply(text="Hello", artifacts=chunks)])

    assert states(made) == ["SUBMITTED", "WORKING"] + ["TaskArtifactUpdateEvent"] * 3 + [
        "COMPLETED"
    ]
    second = made[3].event
    assert isinstance(second, TaskArtifactUpdateEvent)
    assert second.append and second.last_chunk and second.artifact.artifact_id == "a"
    task, _ = fold(made)
    assert [p.text for p in task.artifacts[0].parts] == ["chunk-1 ", "chunk-2"]
    assert task.artifacts[1].parts[0].raw == b"\xfftck"
    assert task.artifacts[1].parts[0].filename == "o.txt"
    assert task.status.message.parts[0].text == "Hello"
    assert task.status.timestamp.ToJsonString() == "2026-01-01T00:00:05Z"


def test_a_rejecting_reply_rejects_and_other_outputs_are_data_artifacts() -> None:
    other = output("x.Report", {"score": 3})

    rejected = a2a_events(TASK, journal("completed", []), [reply(rejected=True, text="no")])
    plain = a2a_events(TASK, journal("completed", []), [other])

    assert states(rejected)[-1] == "REJECTED"
    task, _ = fold(plain)
    assert task.artifacts[0].name == "x.Report"
    assert json_format.MessageToDict(task.artifacts[0].parts[0].data) == {"score": 3}


def test_a_failed_run_fails_with_its_detail_and_a_cancelled_one_is_canceled() -> None:
    failed = a2a_events(TASK, journal("failed", [PLAN], detail="Boom: it broke"), [])
    cancelled = a2a_events(TASK, journal("cancelled", [PLAN], detail="cancelled"), [])

    assert states(failed)[-1] == "FAILED"
    end = failed[-1].event
    assert isinstance(end, Status) and end.status.message.parts[0].text == "Boom: it broke"
    assert states(cancelled)[-1] == "CANCELED"


def test_parts_and_messages_go_both_ways_with_bytes_as_avro_json_has_them() -> None:
    part = Part(raw=b"\x00\xff", filename="f.bin", media_type="application/octet-stream")
    message = Message(message_id="m2", parts=[Part(text="hi"), data_part({"n": 1, "x": 1.5})])

    assert part_of(part_json(part)) == part
    as_json = message_json(message, "t1", "c1")
    assert json.loads(as_json["parts"][1]["data"]) == {"n": 1, "x": 1.5}  # whole numbers: ints
    back = message_of(as_json)
    assert back.parts == message.parts and back.task_id == "t1"


LEAD = contract_from_dict(
    {
        "type": "record",
        "name": "Lead",
        "namespace": "x",
        "fields": [{"name": "company", "type": "string"}, {"name": "size", "type": "int"}],
    }
)


def target(contract: Any) -> Target:
    return Target("scout", "leads", TopicContract("leads-value", 1, contract, False))


def test_an_agent_takes_a_data_part_or_json_text_checked_against_its_contract() -> None:
    data = Message(message_id="m", parts=[data_part({"company": "Acme", "size": 3})])
    text = Message(message_id="m", parts=[Part(text='{"company": "Acme", "size": 3}')])

    assert input_of(data, target(LEAD), "t1", "c1") == input_of(text, target(LEAD), "t1", "c1")
    with pytest.raises(InvalidParamsError) as wrong:
        input_of(Message(parts=[data_part({"company": 1})]), target(LEAD), "t1", "c1")
    assert "company" in str(wrong.value.message)
    with pytest.raises(InvalidParamsError) as none:
        input_of(Message(parts=[Part(text="hello")]), target(LEAD), "t1", "c1")
    assert "company, size" in str(none.value.message)


def test_an_a2a_agent_takes_the_message_as_it_came_and_its_answers_too() -> None:
    message = Message(message_id="m9", parts=[Part(text="hello")])
    speaking = TaskRecord(**{**TASK.model_dump(), "type": A2AMessage.fullname})

    encoded = input_of(message, target(A2AMessage.contract()), "t1", "c1")

    assert encoded[0] == 0  # Confluent wire format
    answer = answer_of(message, speaking, "c1")
    assert answer["message_id"] == "m9" and answer["text"] == "hello"
    assert answer_of(Message(parts=[data_part({"by": "ada"})]), TASK, "c1") == {"by": "ada"}
    assert answer_of(message, TASK, "c1") == "hello"
