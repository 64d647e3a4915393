"""Which record runs next: per-lane FIFO, concurrency up to `max_in_flight`, watermarks.

A lane is the unit of ordering. In "key" mode it is (topic, partition, key): records of one
key run one after another, records of different keys run side by side. "partition" mode
makes the whole partition one lane; "unordered" gives every record its own. A record waits
either behind the running head of its lane or, when its lane is free, in the ready queue for
a free slot. Pure bookkeeping: no I/O, no asyncio.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Generic, TypeVar

Item = TypeVar("Item")
Partition = tuple[str, int]


class Ordering(StrEnum):
    KEY = "key"
    PARTITION = "partition"
    UNORDERED = "unordered"


# (item, partition, lane): a plain tuple, the cheapest record Python has.
_Slot = tuple[Item, Partition, Hashable | None]


@dataclass
class Scheduler(Generic[Item]):
    max_in_flight: int
    high_watermark: int = 1000  # records waiting per partition before it is paused
    low_watermark: int = 500  # ... and resumed
    running: int = 0
    _ready: deque[_Slot[Item]] = field(default_factory=deque)
    # Busy lanes, each with the records waiting behind its running head (None: none wait;
    # most lanes never queue anything, so most never allocate a deque).
    _lanes: dict[Hashable, deque[_Slot[Item]] | None] = field(default_factory=dict)
    _waiting: dict[Partition, int] = field(default_factory=dict)

    def admit(self, item: Item, partition: Partition, lane: Hashable | None) -> None:
        """Queue a record; it becomes ready when its lane is free."""
        slot = (item, partition, lane)
        self._waiting[partition] = self._waiting.get(partition, 0) + 1
        if lane is None:
            self._ready.append(slot)
            return
        lanes = self._lanes
        if lane not in lanes:
            lanes[lane] = None  # the lane is now busy with this record
            self._ready.append(slot)
            return
        queue = lanes[lane]
        if queue is None:
            queue = lanes[lane] = deque()
        queue.append(slot)

    def claim(self, lane: Hashable | None) -> bool:
        """Take a slot and `lane` for a record that may start at once: a slot is free, its
        lane is idle and no ready record was there first. The caller must `finish` it later;
        False means it must be `admit`ted instead."""
        if self.running >= self.max_in_flight or self._ready:
            return False
        if lane is not None:
            if lane in self._lanes:
                return False
            self._lanes[lane] = None
        self.running += 1
        return True

    def next_ready(self) -> tuple[Item, Partition, Hashable | None] | None:
        """A record to start now, if a slot is free; the caller must `finish` it later."""
        if self.running >= self.max_in_flight or not self._ready:
            return None
        slot = self._ready.popleft()
        self.running += 1
        self._waiting[slot[1]] -= 1
        return slot

    def finish(self, lane: Hashable | None) -> None:
        """The running record of `lane` is done: its lane's next record becomes ready."""
        self.running -= 1
        if lane is None:
            return
        queue = self._lanes.pop(lane, None)
        if queue:  # the next record of the lane becomes ready; the lane stays busy with it
            self._ready.append(queue.popleft())
            self._lanes[lane] = queue

    def over_high(self, partition: Partition) -> bool:
        """Enough records of `partition` wait that fetching more should pause."""
        return self._waiting.get(partition, 0) >= self.high_watermark

    def under_low(self, partition: Partition) -> bool:
        """Few enough records of `partition` wait that a paused partition may resume."""
        return self._waiting.get(partition, 0) <= self.low_watermark

    def drop(self, partitions: Iterable[Partition]) -> list[Item]:
        """Forget the waiting records of revoked partitions; returns them (they never ran).

        A lane whose head waited in the ready queue goes with it. A lane whose head is running
        stays (emptied) until that head's `finish`, so a key that comes back in a later
        assignment queues behind it instead of running beside it.
        """
        gone = set(partitions)
        dropped: list[Item] = []
        ready: deque[_Slot[Item]] = deque()
        for slot in self._ready:
            if slot[1] not in gone:
                ready.append(slot)
                continue
            dropped.append(slot[0])
            queue = self._lanes.pop(slot[2], None) if slot[2] is not None else None
            if queue:
                dropped.extend(waiting[0] for waiting in queue)
        self._ready = ready
        for queue in self._lanes.values():
            if queue and queue[0][1] in gone:  # a lane holds records of one partition only
                dropped.extend(waiting[0] for waiting in queue)
                queue.clear()
        for partition in gone:
            self._waiting.pop(partition, None)
        return dropped

    def waiting(self, partition: Partition) -> int:
        return self._waiting.get(partition, 0)


def lane_of(ordering: Ordering, topic: str, partition: int, key: bytes | None) -> Hashable | None:
    if ordering is Ordering.KEY:
        return (topic, partition, key)
    if ordering is Ordering.PARTITION:
        return (topic, partition)
    return None
