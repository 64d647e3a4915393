"""What one handling did, as the audit watches it: its outputs, steps, LLM calls, its run.

A `Trail` is the runtime's `Observer` for the handling of one record (and the LLM layer's
listener). It only collects; `writer.py` turns it into audit events once the handling is
over and its fate (done or dead-lettered) is known. One is made for every audited record,
so it does the least work that can be: nothing is decoded or copied here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hivebus.llm.completion import Completion
from hivebus.llm.provider import ChatRequest
from hivebus.runtime.observe import StepSeen, current_step, now_ms

if TYPE_CHECKING:
    from hivebus.contracts import Record
    from hivebus.durable.records import RunJournal
    from hivebus.runtime.middleware import Call

Published = tuple[str, bytes, "Record", int]  # topic, ce_id, the record, handler attempt
_NOTHING: list[Any] = []  # `Trail.seen` until something is seen: never appended to


def wall_ms(clock: float) -> int:
    """The wall-clock time, in milliseconds since the epoch, of a `perf_counter()` reading."""
    return time.time_ns() // 1_000_000 - round(1000 * (time.perf_counter() - clock))


@dataclass(slots=True)
class AttemptSeen:
    """An attempt that failed and was retried (the last attempt's failure is the decision's)."""

    error: BaseException
    at_ms: int  # when it failed


@dataclass(slots=True)
class LLMSeen:
    request: ChatRequest
    completion: Completion | None
    error: BaseException | None
    started_ms: int
    latency_s: float
    step: str | None


class Trail:
    __slots__ = ("call", "clock", "dead_letter", "ended", "journal", "lineage", "outputs",
                 "seen")  # fmt: skip
    ended: float  # `perf_counter()` once a plain handling is over, set by the writer

    def __init__(self, call: Call, lineage: tuple[bytes, bytes, bytes | None]) -> None:
        self.call = call
        self.lineage = lineage  # (cause, correlation, run) of the handled record, as bytes
        self.clock = time.perf_counter()  # when it began (`started_ms` for the wall clock)
        self.outputs: list[Published] = []
        # What ran, in the order it ended, with the handler attempt it ran in (made once
        # something has: most handlings run no step).
        self.seen: list[tuple[Seen, int]] = _NOTHING
        self.journal: RunJournal | None = None
        self.dead_letter: tuple[str, str, str] | None = None  # (error type, message, topic)

    @property
    def started_ms(self) -> int:
        """When the handling began, in milliseconds since the epoch: from its monotonic
        `clock`, so a handling reads one clock, not two (most are never asked)."""
        return wall_ms(self.clock)

    def took_ms(self) -> float:
        return 1000 * (time.perf_counter() - self.clock)

    # The runtime's Observer

    def published(self, topic: str, event_id: bytes, record: Record) -> None:
        self.outputs.append((topic, event_id, record, self.call.attempt))

    def step(self, seen: StepSeen) -> None:
        if self.seen is _NOTHING:
            self.seen = []
        self.seen.append((seen, self.call.attempt))

    def run(self, journal: Any) -> None:
        self.journal = journal

    def dead_lettered(self, error_type: str, message: str, topic: str) -> None:
        self.dead_letter = (error_type, message, topic)

    def attempt_failed(self, attempt: int, error: BaseException) -> None:
        if self.seen is _NOTHING:
            self.seen = []
        self.seen.append((AttemptSeen(error, now_ms()), attempt))

    # The LLM layer's listener

    def llm_call(
        self,
        request: ChatRequest,
        completion: Completion | None,
        error: BaseException | None,
        took: float,
    ) -> None:
        started = now_ms() - int(1000 * took)
        seen = LLMSeen(request, completion, error, started, took, current_step())
        if self.seen is _NOTHING:
            self.seen = []
        self.seen.append((seen, self.call.attempt))


Seen = StepSeen | LLMSeen | AttemptSeen  # what a trail saw besides its outputs
