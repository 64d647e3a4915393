"""The SDK's `VersionedTaskStore`, kept by Kafka: a task is what its record and its run's
journal say, read alike by every replica.

The only writer of a task is its run: the journal. The events the SDK saves here are the
ones the executor derived from that journal (each names its version in its metadata), so
a save is the SDK telling back what Kafka said, and keeps nothing; a write of the SDK's own
(a failure it records for an executor that raised) is not the run's and is not kept
either. A cancel is the one write that means something: it asks the run to stop, and is
what the journal says once the run has stopped. A task's version is where its newest event
stands (translate.py), so versions only grow and every replica gives the same ones.
"""

from __future__ import annotations

import asyncio
import logging
import time

from a2a.server.cluster import StoredTask, TaskVersion, VersionedTaskStore
from a2a.server.context import ServerCallContext
from a2a.server.events import Event
from a2a.types import ListTasksRequest, ListTasksResponse, Task, TaskState
from a2a.utils.constants import DEFAULT_LIST_TASKS_PAGE_SIZE
from a2a.utils.errors import InvalidParamsError, UnsupportedOperationError
from a2a.utils.task import ListTasksCursor, decode_list_tasks_cursor, encode_list_tasks_cursor
from google.protobuf import json_format

from hivebus.gateway.a2a.calls import caller_of, gateway_of, scope_of
from hivebus.gateway.a2a.cancel import cancel_run
from hivebus.gateway.a2a.reading import find_task, task_now
from hivebus.gateway.a2a.translate import EVENT_META, context_of
from hivebus.gateway.auth import allowed
from hivebus.gateway.records import TaskRecord

CREATING_S = 30.0
LISTED = 1000  # the newest tasks a listing looks at
READERS = 16  # tasks read at once for a listing
log = logging.getLogger("hivebus.gateway.a2a")
SortKey = tuple[bool, int, str]


class JournalTaskStore(VersionedTaskStore):
    def __init__(self) -> None:
        self._creating: dict[str, float] = {}  # task id -> until when (monotonic)

    def creating(self, task_id: str) -> None:
        """A new task of this replica's executor: not there for the SDK until it has taken
        the task's first event (the SDK takes a task as new only while its store has none;
        the executor may be events ahead of it). At most CREATING_S, should it never."""
        now = time.monotonic()
        self._creating = {t: until for t, until in self._creating.items() if until > now}
        self._creating[task_id] = now + CREATING_S

    def created(self, task_id: str) -> None:
        self._creating.pop(task_id, None)

    async def get(self, task_id: str, context: ServerCallContext) -> StoredTask | None:
        if self._creating.get(task_id, 0.0) > time.monotonic():
            return None
        gateway = gateway_of(context)
        task = await find_task(gateway, task_id, scope_of(context), caller_of(context))
        if task is None:
            return None
        found, version = await task_now(gateway, task)
        return StoredTask(found, TaskVersion(version))

    async def save(
        self,
        task: Task,
        *,
        event: Event | None,
        prev: Task | None,
        prev_version: TaskVersion,
        context: ServerCallContext,
    ) -> TaskVersion:
        if isinstance(event, Task) and task.id in self._creating:
            self.created(task.id)
            return TaskVersion(1)  # the first event of every task (translate.version)
        told = _version_in(event)
        if told is not None:
            return TaskVersion(told)
        if task.status.state == TaskState.TASK_STATE_CANCELED:
            return TaskVersion(await cancel_run(gateway_of(context), task.id))
        if prev is not None and task.status.state != prev.status.state:
            log.info(
                "the SDK recorded task %s as %s; not kept: a task is what its run's journal says",
                task.id,
                TaskState.Name(task.status.state),
            )
        return prev_version

    async def list(self, params: ListTasksRequest, context: ServerCallContext) -> ListTasksResponse:
        """Sorted by status time, newest first, like any A2A store: the tasks of the scope
        (and context) are each read, so a listing costs a read per task (at most LISTED)."""
        gateway, scope, caller = gateway_of(context), scope_of(context), caller_of(context)
        records = [
            r
            for r in gateway.recent_tasks(LISTED)
            if (scope is None or r.agent == scope)
            and (caller is None or allowed(caller, r.agent))
            and (not params.context_id or context_of(r) == params.context_id)
        ]
        readers = asyncio.Semaphore(READERS)

        async def read(record: TaskRecord) -> Task:
            async with readers:
                return (await task_now(gateway, record))[0]

        tasks = [t for t in await asyncio.gather(*(read(r) for r in records)) if _fits(t, params)]
        tasks.sort(key=_sort_key, reverse=True)
        start = _start(tasks, params.page_token)
        size = params.page_size or DEFAULT_LIST_TASKS_PAGE_SIZE
        page = tasks[start : start + size]
        more = start + size < len(tasks)
        token = _token(page[-1]) if more and page else ""
        return ListTasksResponse(
            tasks=page, next_page_token=token, page_size=size, total_size=len(tasks)
        )

    async def delete(self, task_id: str, context: ServerCallContext) -> None:
        raise UnsupportedOperationError(
            message="a task is kept as long as its run's journal (7 days by default)"
        )


def _version_in(event: Event | None) -> int | None:
    """The version an event derived from the journal names (translate.py); None for others."""
    if event is None or isinstance(event, Task) or not hasattr(event, "metadata"):
        return None
    meta = json_format.MessageToDict(event.metadata).get(EVENT_META)
    version = meta.get("version") if isinstance(meta, dict) else None
    return int(version) if isinstance(version, int | float) else None


def _fits(task: Task, params: ListTasksRequest) -> bool:
    if params.status and task.status.state != params.status:
        return False
    if params.HasField("status_timestamp_after"):
        after = params.status_timestamp_after.ToNanoseconds()
        return task.status.timestamp.ToNanoseconds() >= after
    return True


def _sort_key(task: Task) -> SortKey:
    stamped = task.status.HasField("timestamp")
    return (stamped, task.status.timestamp.ToNanoseconds() if stamped else 0, task.id)


def _start(tasks: list[Task], token: str) -> int:
    if not token:
        return 0
    cursor = decode_list_tasks_cursor(token)
    if cursor is None:
        raise InvalidParamsError(message=f"invalid page token {token!r}")
    after = cursor.sort_key()
    return next((i for i, t in enumerate(tasks) if _sort_key(t) < after), len(tasks))


def _token(task: Task) -> str:
    stamped, nanos, task_id = _sort_key(task)
    return encode_list_tasks_cursor(
        ListTasksCursor(timestamp_ns=nanos if stamped else None, task_id=task_id)
    )
