"""One consumed record's state machine: plain state, no behaviour that reaches outward.

A job is created at intake (waiting), started by the dispatcher (running), may wait between
attempts (retry-wait) or, in a durable run later, give up its lane while it waits for a timer
or a signal (suspended), and ends in exactly one of done, dead-lettered or cancelled. Every
transition goes through `move`, which refuses the ones that make no sense: a job that ended
never runs again, so a stale completion cannot be mistaken for a fresh one.

A job belongs to one `Assignment` (a partition as this instance holds it between an assign
and a revoke). Once that assignment is revoked, nothing the job does may touch the next one.
"""

from __future__ import annotations

from collections.abc import Hashable
from enum import Enum
from typing import TYPE_CHECKING, Any

from hivebus.contracts.headers import raw_lineage
from hivebus.kafka.records import Consumed, Headers

if TYPE_CHECKING:
    import asyncio

    from hivebus.runtime.assignment import Assignment
    from hivebus.runtime.observe import Observer


class JobState(Enum):
    WAITING = "waiting"
    RUNNING = "running"
    RETRY_WAIT = "retry-wait"
    SUSPENDED = "suspended"
    DONE = "done"
    DEAD_LETTERED = "dead-lettered"
    CANCELLED = "cancelled"

    @property
    def ended(self) -> bool:
        return self is DONE or self is DEAD_LETTERED or self is CANCELLED


# The members as module names, for the per-record paths: in 3.11 `JobState.RUNNING` is a
# descriptor call (~50 ns), a module global is a dict lookup (~6 ns), and a job reads its
# state several times per record.
WAITING = JobState.WAITING
RUNNING = JobState.RUNNING
DONE = JobState.DONE
DEAD_LETTERED = JobState.DEAD_LETTERED
CANCELLED = JobState.CANCELLED


# Tuples, looked up by name: membership tests identity first, and an Enum's hash is a Python
# call — this runs twice per event.
_ALLOWED: dict[str, tuple[JobState, ...]] = {
    "WAITING": (JobState.RUNNING, JobState.CANCELLED),
    "RUNNING": (
        JobState.DONE,
        JobState.RETRY_WAIT,
        JobState.SUSPENDED,
        JobState.DEAD_LETTERED,
        JobState.CANCELLED,
    ),
    "RETRY_WAIT": (JobState.RUNNING, JobState.DEAD_LETTERED, JobState.CANCELLED),
    "SUSPENDED": (JobState.RUNNING, JobState.CANCELLED),
    "DONE": (),
    "DEAD_LETTERED": (),
    "CANCELLED": (),
}


class InvalidTransition(RuntimeError):
    pass


class Job:
    __slots__ = (
        "assignment",
        "attempt_mark",
        "buffer",
        "dead",
        "delivery_error",
        "finished",
        "headers",
        "lane",
        "lineage_of",
        "message",
        "observer",
        "pending",
        "raw_key",
        "sealed",
        "state",
        "task",
    )

    def __init__(self, message: Consumed, assignment: Assignment) -> None:
        self.message = message
        self.assignment = assignment
        self.state = WAITING
        self.lane: Hashable | None = None
        self.headers: Headers | None = message.headers()
        self.raw_key: bytes | None = message.key()  # what the outputs are keyed with
        self.pending = 0  # outputs (or the dead letter) produced and not yet acknowledged
        self.sealed = False  # the handler is finished: no more outputs will come
        self.finished = False  # its lane and slot were given back
        self.dead = False  # the source record is on its way to the dead-letter topic
        self.delivery_error: Any = None  # the first output the broker refused
        self.task: asyncio.Task[None] | None = None  # when the job runs as a task
        self.buffer: list[Any] | None = None  # exactly-once: outputs held for the transaction
        self.attempt_mark = 0  # where the current attempt's held outputs begin
        # (headers, `raw_lineage()` of them): asked by every output and by the audit
        self.lineage_of: tuple[Headers | None, tuple[bytes, bytes, bytes | None]] | None = None
        self.observer: Observer | None = None  # who watches the handling (runtime/observe.py)

    def move(self, to: JobState) -> None:
        if to not in _ALLOWED[self.state._name_]:
            raise InvalidTransition(f"job {self.where}: {self.state.value} -> {to.value}")
        self.state = to

    def begin_attempt(self) -> None:
        """Mark where this attempt's held outputs begin (exactly-once only holds any)."""
        self.attempt_mark = len(self.buffer) if self.buffer else 0

    def discard_attempt(self) -> None:
        """Drop the held outputs of a failed attempt: a transaction never carries them."""
        if self.buffer:
            del self.buffer[self.attempt_mark :]

    @property
    def key(self) -> str | None:
        """The input's key as text (UTF-8, undecodable bytes replaced); None without one."""
        raw = self.raw_key
        return raw.decode(errors="replace") if raw is not None else None

    @property
    def fenced(self) -> bool:
        """True once the job may no longer produce or complete: cancelled or revoked."""
        return self.state is CANCELLED or self.assignment.revoked

    def lineage(self) -> tuple[str, str, str | None]:
        """(cause, correlation, run) for the job's outputs: the input's `ce_id` is the cause,
        its correlation is carried over or started from it. An input without `ce_id` (from a
        producer that is not hivebus) gets a stable id from where it sits in Kafka, so a
        redelivered record gets the same one."""
        cause, correlation, run = self.raw_lineage()
        return cause.decode(), correlation.decode(), None if run is None else run.decode()

    def raw_lineage(self) -> tuple[bytes, bytes, bytes | None]:
        """`lineage` as header bytes, for the outbox to copy into each output's headers.
        Worked out once per headers (`Context.caused_by` may replace them)."""
        headers = self.headers
        known = self.lineage_of
        if known is not None and known[0] is headers:
            return known[1]
        cause, correlation, run = raw_lineage(headers)
        if cause is None:
            cause = b"%b%d" % (self.assignment.where, self.message.offset())
        found = (cause, correlation or cause, run)
        self.lineage_of = (headers, found)
        return found

    @property
    def where(self) -> str:
        message = self.message
        return f"{message.topic()}[{message.partition()}]@{message.offset()}"
