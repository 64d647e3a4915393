"""Watching one handling from above the runtime: what it published, which steps it ran.

A capability that records what agents do (the audit, in `hivebus.audit`) installs an
`Observer` for the handling of one record, as a middleware, in the record's `Job.observer`
(and puts back what was there once the handling is over); the runtime and durable runs then
tell it of each output and each step as they happen. The runtime never learns who is
watching, and with no observer each hook costs one attribute read. It lives on the job, not
in a context variable: every hook has the job at hand, so what a handler's tasks publish for
it is heard while its handler runs and never after, and setting a slot costs a fraction
of `ContextVar.set` and `reset`, which an audited fast pipeline pays for every record.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from hivebus.runtime.attempts import attempt

if TYPE_CHECKING:
    from hivebus.contracts import Record
    from hivebus.runtime.backoff import Retry

T = TypeVar("T")


@dataclass(slots=True)
class StepSeen:
    """One step that ran (a replayed durable step did not run, and is not seen)."""

    name: str
    position: int | None  # its journal position in a durable run; None elsewhere
    started_ms: int  # milliseconds since the epoch
    duration_ms: float
    attempts: int
    value: Any = None  # what it returned, when it succeeded
    error: BaseException | None = None  # why it failed for good
    durable: bool = False
    llm_requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


class Observer(Protocol):
    def published(self, topic: str, event_id: bytes, record: Record) -> None:
        """An output was handed to the producer (or held for the transaction)."""

    def step(self, seen: StepSeen) -> None:
        """A step ended."""

    def run(self, journal: Any) -> None:
        """The handling executes a durable run: its `hivebus.durable.RunJournal`, whose state
        says, once the handler is finished, what became of the run."""

    def dead_lettered(self, error_type: str, message: str, topic: str) -> None:
        """The record is going to the dead-letter topic `topic`, for this error."""

    def attempt_failed(self, attempt: int, error: BaseException) -> None:
        """Attempt `attempt` failed with `error`, and the record will be tried again (the
        last attempt's failure is the handling's own: dead-lettered, or the run's)."""


# The step running here, so what it does (an LLM call) can say which step it belongs to.
STEP: ContextVar[str | None] = ContextVar("hivebus_step", default=None)


def current_step() -> str | None:
    return STEP.get()


# Opens a span around each step that runs: (name, journal position or None). Tracing sets it
# while a handler runs; otherwise a step pays one `ContextVar.get` for it.
StepSpan = Callable[[str, int | None], AbstractContextManager[None]]
STEP_SPAN: ContextVar[StepSpan | None] = ContextVar("hivebus_step_span", default=None)


@contextmanager
def in_step(name: str, position: int | None = None) -> Iterator[None]:
    token = STEP.set(name)
    span = STEP_SPAN.get()
    try:
        if span is None:
            yield
        else:
            with span(name, position):
                yield
    finally:
        STEP.reset(token)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


async def observed_step(
    observer: Observer, name: str, fn: Callable[..., Awaitable[T] | T], args: tuple[Any, ...],
    retry: Retry | None,
) -> T:  # fmt: skip
    """`attempt(fn, args, retry)` for a plain (not durable) step, told to `observer`."""
    started, clock = now_ms(), time.perf_counter()
    try:
        with in_step(name):
            result, tries = await attempt(fn, args, retry)
    except Exception as error:
        took = 1000 * (time.perf_counter() - clock)
        tries = retry.attempts if retry is not None else 1
        observer.step(StepSeen(name, None, started, took, tries, error=error))
        raise
    took = 1000 * (time.perf_counter() - clock)
    observer.step(StepSeen(name, None, started, took, tries, value=result))
    return result
