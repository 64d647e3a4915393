"""The SDK's request handler, with every resubscription served from Kafka.

`DefaultRequestHandlerV2` taps its in-memory task when the replica runs it, and otherwise
reads the shared stream. Here a replica never runs a task, it only follows the run's
journal, so `SubscribeToTask` always reads it: the task as it is now, then each event after
it, the same on every replica, also for a task that waits for input and is answered
through another replica.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from a2a.server.context import ServerCallContext
from a2a.server.events import Event
from a2a.server.request_handlers import DefaultRequestHandlerV2
from a2a.server.request_handlers.request_handler import validate_request_params
from a2a.types import SubscribeToTaskRequest, TaskState, TaskStatusUpdateEvent
from a2a.utils.errors import TaskNotFoundError, UnsupportedOperationError

from hivebus.gateway.a2a.state import STOPS, TERMINAL
from hivebus.gateway.a2a.store import JournalTaskStore
from hivebus.gateway.a2a.stream import JournalEventStream


class JournalRequestHandler(DefaultRequestHandlerV2):
    def __init__(self, *, store: JournalTaskStore, stream: JournalEventStream, **rest: Any) -> None:
        super().__init__(task_store=store, event_stream=stream, **rest)
        self._journal_store, self._journal_stream = store, stream

    @validate_request_params
    async def on_subscribe_to_task(
        self, params: SubscribeToTaskRequest, context: ServerCallContext
    ) -> AsyncGenerator[Event, None]:
        stored = await self._journal_store.get(params.id, context)
        if stored is None:
            raise TaskNotFoundError
        task = stored.task
        if task.status.state in TERMINAL:
            raise UnsupportedOperationError(
                message=f"task {task.id} is {TaskState.Name(task.status.state)}: "
                "its stream is over (GetTask shows it)"
            )
        yield task
        async for versioned in self._journal_stream.subscribe(task.id, after=stored.version):
            event = versioned.event
            yield event
            if isinstance(event, TaskStatusUpdateEvent) and event.status.state in STOPS:
                return
