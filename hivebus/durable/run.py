"""One run being executed: its journal, where the journal is written, the replay position,
and the events it publishes (sent when it completes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from hivebus.contracts import Record
from hivebus.durable.records import JournalStep, RunJournal

if TYPE_CHECKING:
    from hivebus.durable.calls import Requests

PENDING, RUNNING, SLEEPING, WAITING = "pending", "running", "sleeping", "waiting"
COMPLETED, FAILED, PARKED, CANCELLED = "completed", "failed", "parked", "cancelled"
ENDED = (COMPLETED, FAILED, CANCELLED)


def stamp(when: datetime | None = None) -> str:
    moment = when or datetime.now(UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Deferred:
    """An event a run published: sent with its results when the run completes."""

    topic: str
    record: Record
    key: str | bytes | None
    multi_type: bool


class JournalWriter(Protocol):
    """Where a run's journal is written: the journal topic (`JournalStore`), or memory for
    a run that must leave no trace (a replay's)."""

    async def write(self, journal: RunJournal, partition: int) -> None: ...


class StepBlobs(Protocol):
    """Where step results too large for the journal go (`BlobStore`, or memory)."""

    async def put(self, run_id: str, seq: int, data: bytes, partition: int) -> bytes: ...

    async def get(self, ref: bytes) -> bytes: ...


class Suspended(BaseException):
    """The run waits (a timer, a signal): it gives up its request, its lane and its slot.
    A BaseException, so a handler's `except Exception` cannot swallow it."""

    def __init__(self, wake_at: str | None, waiting_for: str | None = None) -> None:
        super().__init__(f"suspended until {wake_at or 'a signal'}")
        self.wake_at, self.waiting_for = wake_at, waiting_for


class Run:
    def __init__(
        self,
        journal: RunJournal,
        store: JournalWriter,
        partition: int,
        blobs: StepBlobs,
        requests: Requests | None = None,
    ) -> None:
        self.journal = journal
        self.partition = partition
        self.blobs = blobs
        self.requests = requests  # how its calls are sent (see calls.py)
        self.position = 0  # the next step the handler asks for
        self.deferred: list[Deferred] = []
        self._store = store
        # By position: the branches of a gather finish, and are recorded, in any order.
        self._steps = {step.seq: step for step in journal.steps}

    @property
    def id(self) -> str:
        return self.journal.run_id

    def recorded(self, position: int) -> JournalStep | None:
        return self._steps.get(position)

    async def record(self, step: JournalStep) -> None:
        """Append a finished step and wait until the journal holding it is acknowledged."""
        self.journal.steps.append(step)
        self._steps[step.seq] = step
        await self.save()

    async def end(self, state: str, detail: str | None = None) -> None:
        self.set_state(state, detail)
        await self.save()

    def set_state(self, state: str, detail: str | None = None) -> None:
        journal = self.journal
        journal.state, journal.detail = state, detail
        if state != SLEEPING and state != WAITING:
            journal.wake_at = journal.waiting_for = None
        journal.updated_at = stamp()

    async def save(self) -> None:
        self.journal.updated_at = stamp()
        await self._store.write(self.journal, self.partition)
