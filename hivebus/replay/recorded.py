"""LLM calls answered from the record instead of the model: `--llm record`.

The new version's handler makes its LLM calls as usual; `ctx.llm` is an `LLM` whose provider
looks each call up by (agent, the input's id, the call's index within the handling) in a
`RecordedCalls`, so the same input gets the same answers it got when the live agent handled
it, and the diff shows what the code changed, not what the model said differently. A call
the record does not have (the new version asks more) fails the record at once: it is
dead-lettered in the shadow, and the summary counts it.
"""

from __future__ import annotations

from collections.abc import Awaitable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Protocol

from hivebus.llm.errors import LLMRequestError
from hivebus.llm.provider import ChatRequest, Reply
from hivebus.runtime.middleware import Call, Next
from hivebus.runtime.middlewares import NonRetryableError
from hivebus.runtime.step_source import STEP_SOURCE, StepSource


@dataclass(frozen=True)
class RecordedReply:
    text: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = "stop"
    error: str | None = None  # the recorded call failed: the replayed one fails alike


class RecordedCalls(Protocol):
    """Where recorded LLM answers are kept (the audit, say)."""

    def lookup(self, agent: str, input_id: str, index: int) -> RecordedReply | None:
        """The answer to the `index`-th call (from 0) made while `agent` handled the input
        whose id is `input_id`; None when there was no such call."""
        ...


class NotRecorded(NonRetryableError):
    """The new version made an LLM call or ran a step the record does not have: retrying
    cannot help."""


@dataclass
class Handling:
    """The replayed input being handled, and how many LLM calls and steps (by name) it has
    made so far: the index of the next one in the record."""

    input_id: str
    calls: int = field(default=0)
    steps: dict[str, int] = field(default_factory=dict)


_HANDLING: ContextVar[Handling | None] = ContextVar("hivebus_replay_handling", default=None)


def current_handling() -> Handling | None:
    return _HANDLING.get()


class MarkInput:
    """A middleware, outside all others, that says which input the calls made inside belong
    to (a context variable; the tasks a handler starts inherit it), and serves the steps
    from `steps` when given (`replay --tools record`)."""

    def __init__(self, steps: StepSource | None = None) -> None:
        self._steps = steps

    def __call__(self, call: Call, call_next: Next) -> Awaitable[None]:
        return self._marked(call, call_next)

    async def _marked(self, call: Call, call_next: Next) -> None:
        token = _HANDLING.set(Handling(call.job.lineage()[0]))
        served = STEP_SOURCE.set(self._steps) if self._steps is not None else None
        try:
            await call_next(call)
        finally:
            if served is not None:
                STEP_SOURCE.reset(served)
            _HANDLING.reset(token)


class RecordedProvider:
    """An LLM provider answering from `calls` (see the module's docstring)."""

    def __init__(self, calls: RecordedCalls, agent: str) -> None:
        self._calls = calls
        self._agent = agent

    async def chat(self, request: ChatRequest) -> Reply:
        handling = _HANDLING.get()
        if handling is None:
            raise NotRecorded("an LLM call outside the handling of a replayed input")
        index, handling.calls = handling.calls, handling.calls + 1
        found = self._calls.lookup(self._agent, handling.input_id, index)
        if found is None:
            raise NotRecorded(
                f"no recorded answer for LLM call #{index + 1} of {self._agent} handling "
                f"{handling.input_id}: the new version asks more than the recorded one did"
            )
        if found.error is not None:
            raise LLMRequestError(f"recorded LLM call #{index + 1} failed: {found.error}")
        return Reply(
            text=found.text,
            model=found.model,
            prompt_tokens=found.prompt_tokens,
            completion_tokens=found.completion_tokens,
            finish_reason=found.finish_reason,
        )

    async def aclose(self) -> None:
        """Nothing to release."""
