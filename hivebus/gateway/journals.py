"""Runs' journals as they are written: one follower per journal topic, fanned out by run id.

A stream (or a status request) of task T watches T's run: it registers for T's records on
the follower of `hivebus.journal.<agent>`, notes up to where the follower has delivered T's
partition, and reads T's newest record before that point itself (`catchup.py`). From then on
the follower hands it every newer version. Both happen on the event loop, so no record falls
between the two; a version seen twice is harmless (events come from a version's content).

Journals of runs this follower has seen since it started are also kept (newest per run, a
bounded number of runs), so a task submitted after that needs no catch-up read at all.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Literal

from hivebus.gateway.catchup import Found, newest
from hivebus.gateway.follower import Follower, FollowerFailed
from hivebus.kafka.partitioning import partition_of
from hivebus.kafka.records import Consumed

KEPT_RUNS = 4096
# Clocks of gateways (that stamp submissions) and brokers may disagree by this much at most.
FOLLOW_MARGIN_MS = 10_000
Version = tuple[int, bytes | None]  # (offset, journal value; None for a tombstone)


@dataclass
class Versions:
    """A watched run's journal versions: the newest when the watch began, then each newer."""

    first: Found
    queue: asyncio.Queue[Version | FollowerFailed] = field(default_factory=asyncio.Queue)

    async def __aiter__(self) -> AsyncIterator[bytes | None]:
        last = -1
        if self.first is not None:
            last = self.first[0]
            yield self.first[1]
        else:
            yield None  # no journal yet: the run has not started
        while True:
            item = await self.queue.get()
            if isinstance(item, FollowerFailed):
                raise item
            offset, value = item
            if offset > last:
                last = offset
                yield value

    def newest(self) -> bytes | None:
        """The newest version known now, without waiting."""
        best = self.first
        while not self.queue.empty():
            version = self.queue.get_nowait()
            if isinstance(version, FollowerFailed):
                raise version
            if best is None or version[0] > best[0]:
                best = version
        return best[1] if best is not None else None


class JournalFeed:
    """The journals of one durable agent's runs, for every watcher in this gateway."""

    def __init__(self, topic: str, partitions: int) -> None:
        self.topic = topic
        self.partitions = partitions
        self._watchers: dict[str, set[asyncio.Queue[Version | FollowerFailed]]] = {}
        self._kept: OrderedDict[str, Version] = OrderedDict()
        self._evicted = False
        self._follower: Follower[tuple[str, bytes | None]] = Follower(
            topic, partitions, self._deliver, _keyed, from_end=True, failed=self._failed
        )

    def start(self) -> None:
        self._follower.start()

    def stop(self) -> None:
        self._follower.stop()

    @property
    def failed(self) -> bool:
        return self._follower.error is not None

    @asynccontextmanager
    async def watch(self, run_id: str, since_ms: int) -> AsyncIterator[Versions]:
        """Watch run `run_id`, started no earlier than `since_ms` (its task's submission)."""
        await self._follower.ready()
        partition = partition_of(run_id.encode(), self.partitions)
        queue: asyncio.Queue[Version | FollowerFailed] = asyncio.Queue()
        self._watchers.setdefault(run_id, set()).add(queue)
        try:
            end = self._follower.position(partition)
            known = self._known(run_id, since_ms)
            first = (
                known
                if known is not False
                else await asyncio.to_thread(newest, self.topic, partition, run_id, since_ms, end)
            )
            yield Versions(first, queue)
        finally:
            watchers = self._watchers.get(run_id)
            if watchers is not None:
                watchers.discard(queue)
                if not watchers:
                    del self._watchers[run_id]

    def _known(self, run_id: str, since_ms: int) -> Found | Literal[False]:
        """The run's newest version if this follower has seen all of them; else False."""
        if since_ms - FOLLOW_MARGIN_MS < self._follower.started_ms:
            return False  # the run may have written before the follower started
        if run_id in self._kept:
            return self._kept[run_id]
        return False if self._evicted else None

    def _deliver(self, records: list[tuple[int, int, tuple[str, bytes | None]]]) -> None:
        for _, offset, (run_id, value) in records:
            version = (offset, value)
            self._kept[run_id] = version
            self._kept.move_to_end(run_id)
            if len(self._kept) > KEPT_RUNS:
                self._kept.popitem(last=False)
                self._evicted = True
            for queue in self._watchers.get(run_id, ()):
                queue.put_nowait(version)

    def _failed(self, error: BaseException) -> None:
        """Every watcher's stream ends with the failure (its client reconnects)."""
        failure = FollowerFailed(f"following {self.topic} failed: {error}")
        for queues in self._watchers.values():
            for queue in queues:
                queue.put_nowait(failure)


def _keyed(message: Consumed) -> tuple[str, bytes | None]:
    return (message.key() or b"").decode(errors="replace"), message.value()
