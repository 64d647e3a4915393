"""A partition as this instance holds it, from one assign callback to the matching revoke.

Each assign makes a new `Assignment` with the next generation number. Jobs keep a reference
to the assignment they were admitted under, so a job that outlives its revoke (a handler that
ignored cancellation, a late delivery report) finds `revoked` set and touches nothing: not the
offsets of the partition's next assignment, not its running count, not its commits.
"""

from __future__ import annotations

import itertools
from typing import Any

from hivebus.runtime.offsets import PartitionOffsets

Partition = tuple[str, int]
_generations = itertools.count(1)


class Assignment:
    __slots__ = ("generation", "offsets", "partition", "revoked", "revoking", "running", "where")

    def __init__(self, partition: Partition, offsets: PartitionOffsets) -> None:
        self.partition = partition
        # `topic/partition/`: with an offset, the stable id of a record without `ce_id`
        self.where = f"{partition[0]}/{partition[1]}/".encode()
        self.offsets = offsets
        self.generation = next(_generations)
        self.running: set[Any] = set()  # jobs started and not yet ended
        self.revoking = False  # intake stopped; running jobs may still finish and commit
        self.revoked = False  # gone: nothing may touch these offsets any more

    def end(self, job: Any, *, complete: bool) -> None:
        """The job ended; `complete` when its offset is done (outputs acknowledged)."""
        self.running.discard(job)
        if complete and not self.revoked:
            self.offsets.complete(job.message.offset())


class Assignments(dict[Partition, Assignment]):
    """The partitions an agent holds now, by (topic, partition)."""

    def current(self, job: Any) -> bool:
        """True when `job` belongs to the assignment its partition has now."""
        return self.get(job.assignment.partition) is job.assignment
