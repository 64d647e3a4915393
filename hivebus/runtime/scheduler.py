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
    _lanes: dict[Hashable, deque[_Slot[Item]]] = field(default_factory=dict)
    _waiting: dict[Partition, int] = field(default_factory=dict)
    _paused: set[Partition] = field(default_factory=set)

    def admit(self, item: Item, partition: Partition, lane: Hashable | None) -> None:
        """Queue a record; it becomes ready when its lane is free."""
        slot = (item, partition, lane)
        self._waiting[partition] = self._waiting.get(partition, 0) + 1
        if lane is None:
            self._ready.append(slot)
            return
        queue = self._lanes.get(lane)
        if queue is None:
            self._lanes[lane] = deque()  # the lane is now busy with this record
            self._ready.append(slot)
        else:
            queue.append(slot)

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
        queue = self._lanes.get(lane)
        if queue is None:
            return
        if queue:
            self._ready.append(queue.popleft())
        else:
            del self._lanes[lane]

    def to_pause(self) -> list[Partition]:
        """Partitions that just crossed the high watermark (the caller pauses them)."""
        crossed = [
            p
            for p, n in self._waiting.items()
            if n >= self.high_watermark and p not in self._paused
        ]
        self._paused.update(crossed)
        return crossed

    def to_resume(self) -> list[Partition]:
        """Paused partitions that drained below the low watermark."""
        drained = [p for p in self._paused if self._waiting.get(p, 0) <= self.low_watermark]
        self._paused.difference_update(drained)
        return drained

    def drop(self, partitions: Iterable[Partition]) -> list[Item]:
        """Forget the waiting records of revoked partitions; returns them (they never ran)."""
        gone = set(partitions)
        dropped = [slot[0] for slot in self._ready if slot[1] in gone]
        self._ready = deque(slot for slot in self._ready if slot[1] not in gone)
        for lane, queue in list(self._lanes.items()):
            kept = deque(slot for slot in queue if slot[1] not in gone)
            dropped.extend(slot[0] for slot in queue if slot[1] in gone)
            self._lanes[lane] = kept
        for partition in gone:
            self._waiting.pop(partition, None)
            self._paused.discard(partition)
        return dropped


def lane_of(ordering: Ordering, topic: str, partition: int, key: bytes | None) -> Hashable | None:
    if ordering is Ordering.KEY:
        return (topic, partition, key)
    if ordering is Ordering.PARTITION:
        return (topic, partition)
    return None
