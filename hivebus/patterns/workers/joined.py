"""What an orchestrator's join got: each task's result, which failed, which did not come."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hivebus.durable import Gathered
from hivebus.patterns.workers.records import WorkItem, WorkResult


@dataclass(frozen=True)
class Joined:
    """The tasks of one join, in the order given, with what came back for each.

    `results[i]` is the `WorkResult` of task i, or None when it had not come when the join
    ended (its index is then in `missing`); `failed` are the tasks whose worker gave up.
    """

    tasks: list[WorkItem]
    results: list[WorkResult | None]

    @classmethod
    def of(cls, tasks: list[WorkItem], gathered: Gathered) -> Joined:
        return cls(tasks, [gathered.results[i] if i in gathered.done else None
                           for i in range(len(tasks))])  # fmt: skip

    @property
    def succeeded(self) -> list[int]:
        return [i for i, r in enumerate(self.results) if r is not None and r.ok]

    @property
    def failed(self) -> list[int]:
        return [i for i, r in enumerate(self.results) if r is not None and not r.ok]

    @property
    def missing(self) -> list[int]:
        return [i for i, r in enumerate(self.results) if r is None]

    @property
    def complete(self) -> bool:
        return len(self.succeeded) == len(self.tasks)

    def result(self, index: int) -> WorkResult:
        """Task `index`'s result; `LookupError` when it is missing."""
        found = self.results[index]
        if found is None:
            raise LookupError(f"task {self.tasks[index].id} had no result when the join ended")
        return found

    def outputs(self) -> dict[str, Any]:
        """The output of each task that succeeded, by task id."""
        return {self.tasks[i].id: self.result(i).value() for i in self.succeeded}
