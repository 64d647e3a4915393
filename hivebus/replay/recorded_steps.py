"""Steps (tool calls) answered from the record instead of run: `replay --tools record`.

The new version's handler calls `ctx.step(name, fn, ...)` as usual; the replay's
`StepsFromRecord` (a `StepSource`, runtime/step_source.py) looks the step up by (agent, the
input's id, the step's name, its index among the handling's steps of that name) in a
`RecordedSteps`, and hands back its recorded result instead of running `fn`: the tool is not
called again, and the diff shows what the code changed, not what the world answers now. A
step that failed for good then fails alike now (a served step is not retried by its own
`retry`: its attempts are in the record); one the record does not have (the new version runs
more) fails the record at once: it is dead-lettered in the shadow, and the summary counts it.
The result is the JSON the audit kept (sensitive fields redacted): `returns=` turns it back
into its type (a pydantic model, say), as for a durable step.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import TypeAdapter

from hivebus.replay.recorded import NotRecorded, current_handling
from hivebus.runtime.step_source import RecordedFailure


@dataclass(frozen=True)
class RecordedStep:
    result: str | None  # what it returned, as JSON, when it succeeded
    error: str | None = None  # why it failed for good: its message
    error_type: str | None = None  # and the name of its exception's class


class RecordedSteps(Protocol):
    """Where recorded step results are kept (the audit, say)."""

    def lookup(self, agent: str, input_id: str, name: str, index: int) -> RecordedStep | None:
        """The `index`-th (from 0) step called `name` that `agent` ran while handling the
        input whose id is `input_id`; None when there was no such step."""
        ...


class RecordedStepFailed(RecordedFailure):
    """The recorded step failed for good: the replayed one fails alike, with the recorded
    message (`str(error)` is what it was); `recorded_type` names the exception's class. The
    handler may retry it, as it did live (the retry is served the record's next step)."""

    def __init__(self, message: str, recorded_type: str | None) -> None:
        super().__init__(message)
        self.recorded_type = recorded_type


class StepsFromRecord:
    """A `StepSource` answering from `steps` (see the module's docstring)."""

    def __init__(self, steps: RecordedSteps, agent: str) -> None:
        self._steps = steps
        self._agent = agent

    def replace(
        self, name: str, fn: Callable[..., Any], returns: type[Any] | None
    ) -> Callable[..., Any]:
        handling = current_handling()
        if handling is None:
            raise NotRecorded(f"step {name!r} outside the handling of a replayed input")
        index = handling.steps.get(name, 0)
        handling.steps[name] = index + 1
        found = self._steps.lookup(self._agent, handling.input_id, name, index)
        if found is None:
            raise NotRecorded(
                f"no recorded result for step {name!r} #{index + 1} of {self._agent} handling "
                f"{handling.input_id}: the new version runs more than the recorded one did"
            )
        return functools.partial(_served, found, returns)


def _served(found: RecordedStep, returns: type[Any] | None, *_: Any) -> Any:
    """The recorded outcome, in place of the step's function (its arguments are ignored)."""
    if found.error is not None:
        raise RecordedStepFailed(found.error, found.error_type)
    value = json.loads(found.result) if found.result is not None else None
    return TypeAdapter(returns).validate_python(value) if returns is not None else value
