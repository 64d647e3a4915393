"""Where a step's result comes from, when it is not from running the step.

`ctx.step(name, fn, ...)` runs `fn`, unless a `StepSource` is in force for the handling
(`STEP_SOURCE`, a context variable a middleware sets): then the source hands back what to run
instead. A replay serving tool calls from the audit's record is one (`replay --tools
record`): the new version's handler gets the results the live agent's tools returned, and
no tool runs twice. What replaces `fn` goes through the step's observer, so a served step is
audited as a run one would be, but not through its `retry`: the recorded outcome is the one
after the live step's retries.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any, Protocol


class StepSource(Protocol):
    def replace(
        self, name: str, fn: Callable[..., Any], returns: type[Any] | None
    ) -> Callable[..., Awaitable[Any] | Any]:
        """What to run instead of the step `name` (called with the step's arguments); may
        raise, and the step fails with that error."""
        ...


class RecordedFailure(Exception):
    """A step's failure served from a record: `recorded_type` names the class of the
    exception it was recorded with, which a journal keeps as the failure's type."""

    recorded_type: str | None = None


STEP_SOURCE: ContextVar[StepSource | None] = ContextVar("hivebus_step_source", default=None)
