"""One run being executed: its journal, where the journal is written, the replay position."""

from __future__ import annotations

from datetime import UTC, datetime

from hivebus.durable.journal import JournalStore
from hivebus.durable.records import JournalStep, RunJournal, RunRequest

RUNNING, COMPLETED, FAILED, PARKED = "running", "completed", "failed", "parked"


def stamp() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Run:
    def __init__(
        self, request: RunRequest, journal: RunJournal, store: JournalStore, partition: int
    ) -> None:
        self.request = request
        self.journal = journal
        self.position = 0  # the next step the handler asks for
        self._store = store
        self._partition = partition

    @property
    def id(self) -> str:
        return self.journal.run_id

    def recorded(self, position: int) -> JournalStep | None:
        steps = self.journal.steps
        return steps[position] if position < len(steps) else None

    async def record(self, step: JournalStep) -> None:
        """Append a finished step and wait until the journal holding it is acknowledged."""
        self.journal.steps.append(step)
        await self.save()

    async def end(self, state: str, detail: str | None = None) -> None:
        self.journal.state, self.journal.detail = state, detail
        await self.save()

    async def save(self) -> None:
        self.journal.updated_at = stamp()
        await self._store.write(self.journal, self._partition)
