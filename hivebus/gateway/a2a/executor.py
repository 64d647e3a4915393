"""The SDK's `AgentExecutor` for hivebus: an A2A message starts a durable run, or answers one.

A new task goes to Kafka as `POST /v1/tasks` sends one (its record on `hivebus.tasks`, then
its input event), with the A2A task id as the run id; an answer is the signal its run waits
for. Then the executor follows the run's journal and hands the SDK the A2A events derived
from it (reading.py), up to where the task ends or waits for input. The executor does not
run the agent and holds nothing the run needs: a replica that dies loses only the streams
it served, and any other replica goes on with the task from Kafka.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.cluster import TaskVersion
from a2a.server.events import EventQueue
from a2a.types import Message, Part, Role
from a2a.utils.errors import InternalError
from google.protobuf import json_format

from hivebus.durable import RunJournal, control
from hivebus.durable.run import stamp
from hivebus.errors import HivebusError
from hivebus.gateway.a2a.calls import PREPARED, gateway_of
from hivebus.gateway.a2a.cancel import request_cancel
from hivebus.gateway.a2a.contracts import A2AMessage
from hivebus.gateway.a2a.prepare import Answer, NewTask
from hivebus.gateway.a2a.reading import events_after
from hivebus.gateway.a2a.results import results_of
from hivebus.gateway.a2a.store import JournalTaskStore
from hivebus.gateway.a2a.translate import context_of, first_task
from hivebus.gateway.errors import ApiError
from hivebus.gateway.events import COMPLETED, task_state
from hivebus.gateway.records import TaskRecord
from hivebus.gateway.service import Gateway
from hivebus.gateway.status import journals
from hivebus.gateway.submit import SOURCE

# How long a new task of an agent that speaks A2A may take to end at once, with a message
# instead of a task: its first event waits that long at most (until the run's first write).
MESSAGE_WINDOW_S = 2.0
STOPPING_S = 10.0  # for a cancelled run's end to reach this replica's stream
log = logging.getLogger("hivebus.gateway.a2a")


class RunExecutor(AgentExecutor):
    def __init__(self, store: JournalTaskStore) -> None:
        self._store = store
        self._following: dict[str, asyncio.Event] = {}  # task id -> set when its follow ends

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        gateway = gateway_of(context.call_context)
        prepared = context.call_context.state[PREPARED]
        if isinstance(prepared, Answer):
            task, after = prepared.task, TaskVersion(prepared.version)
            await _signal(prepared)
        else:
            assert isinstance(prepared, NewTask)
            task = await self._submit(gateway, context, prepared)
            try:
                answer = await _quick_message(gateway, task)
            except BaseException:
                self._store.created(task.task_id)
                raise
            if answer is not None:
                self._store.created(task.task_id)
                await event_queue.enqueue_event(answer)
                return
            await event_queue.enqueue_event(first_task(task))  # its save ends `creating`
            after = TaskVersion(1)
        ended = self._following[task.task_id] = asyncio.Event()
        try:
            async for versioned in events_after(gateway, task, after):
                await event_queue.enqueue_event(versioned.event)  # type: ignore[arg-type]
        finally:
            ended.set()
            if self._following.get(task.task_id) is ended:
                del self._following[task.task_id]

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        """Ask the run to stop; while this replica streams the task, give its end a moment
        to come through, so those streams show it."""
        assert context.task_id is not None
        await request_cancel(gateway_of(context.call_context), context.task_id)
        if (following := self._following.get(context.task_id)) is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(following.wait(), STOPPING_S)

    async def _submit(self, gateway: Gateway, context: RequestContext, new: NewTask) -> TaskRecord:
        """The task to Kafka: its record, then its input event, as `POST /v1/tasks` does."""
        assert context.task_id is not None and context.context_id is not None
        message = context.message
        self._store.creating(context.task_id)
        try:
            return await gateway.submitter.submit(
                new.target,
                new.value,
                new.key,
                task_id=context.task_id,
                submitted_at=stamp(),
                context_id=context.context_id,
                message=json_format.MessageToJson(message, indent=None) if message else None,
            )
        except ApiError as error:
            self._store.created(context.task_id)
            raise InternalError(message=error.message) from None


async def _quick_message(gateway: Gateway, task: TaskRecord) -> Message | None:
    """The message an agent that speaks A2A answers with, when its run ends at once with an
    `A2AReply` that asks for it (`as_message`); None for a task."""
    if task.type != A2AMessage.fullname:
        return None
    try:
        journal = await asyncio.wait_for(_first_journal(gateway, task), MESSAGE_WINDOW_S)
    except TimeoutError:
        return None
    if task_state(journal) != COMPLETED:
        return None
    results = results_of(await gateway.results(task, journal))
    if not results.as_message:
        return None
    parts = [Part(text=results.text)] if results.text is not None else []
    parts += [part for chunk in results.chunks for part in chunk.artifact.parts]
    return Message(
        message_id=f"{task.task_id}-reply",
        context_id=context_of(task),
        role=Role.ROLE_AGENT,
        parts=parts,
    )


async def _first_journal(gateway: Gateway, task: TaskRecord) -> RunJournal:
    async for journal in journals(gateway, task):
        if journal is not None:
            return journal
    raise TimeoutError  # no journal to follow: the task it is


async def _signal(answer: Answer) -> None:
    task = answer.task
    try:
        await control.signal(task.agent, task.task_id, answer.signal, answer.payload, source=SOURCE)
    except HivebusError as error:
        raise InternalError(message=f"the answer did not reach the run: {error}") from None
