"""An A2A task read from Kafka: its task record, its run's journal, its results.

`task_now` is the task as its run's newest journal has it; `events_after` follows the
journal and yields each A2A event past a version as it is written, up to where the task
stops (it ends, or waits for the user). Every replica reads the same, so none of this
depends on which replica a request or a stream came to before.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from a2a.server.cluster import TaskVersion
from a2a.types import Task, TaskStatusUpdateEvent
from a2a.utils.errors import TaskNotFoundError

from hivebus.durable import RunJournal
from hivebus.gateway.a2a.snapshot import fold
from hivebus.gateway.a2a.state import STOPS
from hivebus.gateway.a2a.translate import FollowUp, Versioned, a2a_events
from hivebus.gateway.auth import allowed
from hivebus.gateway.errors import ApiError
from hivebus.gateway.events import COMPLETED, task_state
from hivebus.gateway.records import TaskRecord
from hivebus.gateway.service import Gateway
from hivebus.gateway.status import journals, newest_journal


async def find_task(
    gateway: Gateway, task_id: str, scope: str | None, caller: dict[str, Any] | None = None
) -> TaskRecord | None:
    """The task, if it is one of `scope`'s (the agent of the endpoint; None: any agent's)
    and the caller's key may use its agent (else it is not found, as for any other key)."""
    try:
        task = await gateway.task(task_id)
    except ApiError:
        return None
    if caller is not None and not allowed(caller, task.agent):
        return None
    return task if scope is None or task.agent == scope else None


async def known_task(
    gateway: Gateway, task_id: str, scope: str | None, caller: dict[str, Any] | None = None
) -> TaskRecord:
    if (task := await find_task(gateway, task_id, scope, caller)) is None:
        raise TaskNotFoundError(message=f"no task {task_id!r}")
    return task


async def made_now(gateway: Gateway, task: TaskRecord) -> list[Versioned]:
    journal = await newest_journal(gateway, task)
    return a2a_events(task, journal, await _outputs(gateway, task, journal))


async def task_now(gateway: Gateway, task: TaskRecord) -> tuple[Task, int]:
    """The task as A2A shows it now, and its version."""
    return fold(await made_now(gateway, task))


async def events_after(
    gateway: Gateway, task: TaskRecord, after: TaskVersion
) -> AsyncIterator[Versioned]:
    """The task's A2A events after version `after`, as they happen, up to and including the
    one where the task ends or waits for the user."""
    last = after
    async for journal in journals(gateway, task):
        for versioned in a2a_events(task, journal, await _outputs(gateway, task, journal)):
            current = TaskVersion(versioned.version)
            if not current.is_after(last) or isinstance(versioned.event, FollowUp):
                continue
            yield versioned
            last = current
            if stops(versioned):
                return


def stops(versioned: Versioned) -> bool:
    event = versioned.event
    return isinstance(event, TaskStatusUpdateEvent) and event.status.state in STOPS


async def _outputs(
    gateway: Gateway, task: TaskRecord, journal: RunJournal | None
) -> list[dict[str, Any]]:
    if journal is None or task_state(journal) != COMPLETED:
        return []
    return await gateway.results(task, journal)
