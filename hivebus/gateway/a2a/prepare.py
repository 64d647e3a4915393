"""What a message asks for, settled before the SDK starts any work for it.

A new task: its agent, topic and contract (`resolve_target`) and its input, checked
against the contract. A message to a task: that the task waits for input, and which signal
the message is. Whatever does not fit is an error for the client now, so no task is ever
made, or marked failed, for a message that could not have started a run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from a2a.server.agent_execution import RequestContext, SimpleRequestContextBuilder
from a2a.server.context import ServerCallContext
from a2a.types import SendMessageRequest, Task, TaskState
from a2a.utils.errors import InvalidParamsError, UnsupportedOperationError
from google.protobuf import json_format

from hivebus.gateway.a2a.calls import PREPARED, caller_of, gateway_of, scope_of
from hivebus.gateway.a2a.inputs import answer_of, input_of
from hivebus.gateway.a2a.reading import known_task, made_now
from hivebus.gateway.a2a.snapshot import fold
from hivebus.gateway.a2a.state import TERMINAL
from hivebus.gateway.a2a.target import hints_of, resolve_target
from hivebus.gateway.a2a.translate import EVENT_META
from hivebus.gateway.records import TaskRecord
from hivebus.gateway.targets import Target


@dataclass(frozen=True)
class NewTask:
    target: Target
    value: bytes  # the input event, encoded
    key: str | None


@dataclass(frozen=True)
class Answer:
    """A message to a task that waits for input: the signal its run waits for."""

    task: TaskRecord
    signal: str
    payload: Any
    version: int  # of the task as the message found it


class Requests(SimpleRequestContextBuilder):
    """Builds each request's context (the SDK's ids) and what it asks, or refuses it."""

    async def build(
        self,
        context: ServerCallContext,
        params: SendMessageRequest | None = None,
        task_id: str | None = None,
        context_id: str | None = None,
        task: Task | None = None,
    ) -> RequestContext:
        if params is None:
            raise InvalidParamsError(message="a message is needed")
        gateway, scope = gateway_of(context), scope_of(context)
        if task_id:
            record = await known_task(gateway, task_id, scope, caller_of(context))
            found, version = fold(await made_now(gateway, record))
            built = await super().build(context, params, task_id, found.context_id, task)
            signal = _awaited(found)
            payload = answer_of(params.message, record, found.context_id)
            context.state[PREPARED] = Answer(record, signal, payload, version)
            return built
        built = await super().build(context, params, task_id, context_id, task)
        target = await resolve_target(gateway, scope, params.message, caller_of(context))
        assert built.task_id is not None and built.context_id is not None
        value = input_of(params.message, target, built.task_id, built.context_id)
        key = hints_of(params.message).get("key")
        context.state[PREPARED] = NewTask(target, value, key if isinstance(key, str) else None)
        return built


def _awaited(task: Task) -> str:
    """The signal the task's run waits for; UnsupportedOperationError unless it waits."""
    state = task.status.state
    if state in TERMINAL:
        raise UnsupportedOperationError(
            message=f"task {task.id} is {TaskState.Name(state)}: it takes no more messages"
        )
    signal = json_format.MessageToDict(task.metadata).get(EVENT_META, {}).get("signal")
    if state != TaskState.TASK_STATE_INPUT_REQUIRED or not isinstance(signal, str):
        raise UnsupportedOperationError(
            message=f"task {task.id} is {TaskState.Name(state)}: a message to a task is an "
            "answer, taken while it waits for input (TASK_STATE_INPUT_REQUIRED)"
        )
    return signal
