"""A task's state in A2A's words: the gateway's task states (events.py) are A2A's already.

`input-required` is a run waiting for a signal (`ctx.wait_for`); a run that sleeps, waits for
the replies of agents it called, or is parked is `working`. `rejected` is a run that
completed with an `A2AReply` that says so (its reply decides, not the run).
"""

from __future__ import annotations

from a2a.types import TaskState

from hivebus.gateway.events import (
    CANCELED,
    COMPLETED,
    FAILED,
    INPUT_REQUIRED,
    SUBMITTED,
    WORKING,
)

STATES: dict[str, TaskState] = {
    SUBMITTED: TaskState.TASK_STATE_SUBMITTED,
    WORKING: TaskState.TASK_STATE_WORKING,
    INPUT_REQUIRED: TaskState.TASK_STATE_INPUT_REQUIRED,
    COMPLETED: TaskState.TASK_STATE_COMPLETED,
    FAILED: TaskState.TASK_STATE_FAILED,
    CANCELED: TaskState.TASK_STATE_CANCELED,
}
REJECTED = TaskState.TASK_STATE_REJECTED

TERMINAL = frozenset(
    {
        TaskState.TASK_STATE_COMPLETED,
        TaskState.TASK_STATE_FAILED,
        TaskState.TASK_STATE_CANCELED,
        TaskState.TASK_STATE_REJECTED,
    }
)
# Where a request's events stop: the task ended, or it waits for the user.
INTERRUPTED = frozenset({TaskState.TASK_STATE_INPUT_REQUIRED, TaskState.TASK_STATE_AUTH_REQUIRED})
STOPS = TERMINAL | INTERRUPTED
