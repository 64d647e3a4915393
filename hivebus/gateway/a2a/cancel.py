"""Cancelling an A2A task: asked of its run, and true once the run's journal says so.

A run ends `canceled` at its next turn, at once when it sleeps or waits; one in the middle
of a step goes on to the step's end, and may complete instead. So A2A's answer waits for the
journal (a few seconds at most): canceled, or TaskNotCancelableError saying what happened.
"""

from __future__ import annotations

import asyncio

from a2a.utils.errors import InternalError, TaskNotCancelableError

from hivebus.durable import control
from hivebus.errors import HivebusError
from hivebus.gateway.a2a.reading import known_task, made_now
from hivebus.gateway.events import CANCELED, TERMINAL, task_state
from hivebus.gateway.records import TaskRecord
from hivebus.gateway.service import Gateway
from hivebus.gateway.status import journals
from hivebus.gateway.submit import SOURCE

WAIT_S = 10.0


async def request_cancel(gateway: Gateway, task_id: str) -> TaskRecord:
    """Ask the task's run to stop (a request on its run inbox); the task."""
    task = await known_task(gateway, task_id, None)
    try:
        await control.cancel(task.agent, task.task_id, source=SOURCE)
    except HivebusError as error:
        raise InternalError(message=f"the cancel did not reach the run: {error}") from None
    return task


async def cancel_run(gateway: Gateway, task_id: str) -> int:
    """Cancel the task's run and wait for its end: the version of the canceled task."""
    task = await request_cancel(gateway, task_id)
    try:
        state = await asyncio.wait_for(_ended(gateway, task), WAIT_S)
    except TimeoutError:
        raise TaskNotCancelableError(
            message=f"the run did not stop within {WAIT_S:.0f} s: it is in the middle of a "
            "step. The cancel stays asked for: the run ends canceled when it next sleeps or "
            "waits, unless it completes first"
        ) from None
    if state != CANCELED:
        raise TaskNotCancelableError(message=f"the task {state} before the cancel reached it")
    return (await made_now(gateway, task))[-1].version


async def _ended(gateway: Gateway, task: TaskRecord) -> str:
    async for journal in journals(gateway, task):
        if (state := task_state(journal)) in TERMINAL:
            return state
    raise TaskNotCancelableError(message="the task's run cannot be followed")
