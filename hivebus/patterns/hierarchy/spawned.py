"""What a spawn got back: each child's result, in the order the children were given."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hivebus.patterns.hierarchy.records import FAILED, OK, ChildResult


@dataclass(frozen=True)
class Spawned:
    """`results[i]` is child i's `ChildResult`, or None if it had not answered when the
    spawn ended (its index is in `missing`; its run was cancelled as an orphan)."""

    results: list[ChildResult | None]
    cancelled: list[str]  # the run ids of the children cancelled as orphans

    @property
    def succeeded(self) -> list[int]:
        return [i for i, r in enumerate(self.results) if r is not None and r.outcome == OK]

    @property
    def failed(self) -> list[int]:
        return [i for i, r in enumerate(self.results) if r is not None and r.outcome == FAILED]

    @property
    def missing(self) -> list[int]:
        return [i for i, r in enumerate(self.results) if r is None]

    def outputs(self) -> list[Any]:
        """The outputs of the children that succeeded, in their order."""
        return [r.value() for r in self.results if r is not None and r.outcome == OK]
