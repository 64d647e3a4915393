"""The boards an agent holds in memory, per partition, restored once per assignment.

A keeper owns partition p of the posts topic, so it owns every board keyed there, and the
state topic has as many partitions and the same keys, so those boards' versions are on
partition p of it. On each assignment of p (its generation) the store reads them back; from
then on the keeper's own writes keep it current, since no one else writes those boards. A
partition that left and came back is read again: another keeper may have moved its boards
on meanwhile. Contributors keep the same store, to know the newest version of each board.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from hivebus.contracts import Serde, registry_client
from hivebus.patterns.blackboard.records import BoardState
from hivebus.patterns.blackboard.snapshot import read_boards
from hivebus.runtime.agent import HeldPartition


@dataclass
class _Held:
    generation: int
    boards: dict[str, BoardState] = field(default_factory=dict)


class BoardStore:
    """Also the agent's partition hooks: an assignment starts the restore at once (so the
    first post does not wait for it alone), a revoke forgets the partition."""

    def __init__(
        self, state_topic: str, consumed_topic: str, log: logging.Logger, *, check: bool = False
    ) -> None:
        self.state_topic = state_topic
        self.consumed_topic = consumed_topic  # whose partitions say which boards are held
        self._check = check  # that the consumed topic has as many partitions (the keeper's)
        self._log = log
        self._serde: Serde | None = None
        self._held: dict[int, _Held] = {}
        self._restoring: dict[int, tuple[int, asyncio.Task[_Held]]] = {}

    async def boards(self, partition: int, generation: int) -> dict[str, BoardState]:
        """The boards of `partition`, as of this assignment; the caller updates them."""
        held = self._held.get(partition)
        if held is not None and held.generation == generation:
            return held.boards
        held = await self._start(partition, generation)
        current = self._held.get(partition)
        if current is None or current.generation <= held.generation:
            self._held[partition] = held  # (every waiter of one restore stores the same)
        return held.boards

    def assigned(self, partitions: list[HeldPartition]) -> None:
        try:
            for topic, partition, generation in partitions:
                if topic == self.consumed_topic:
                    self._start(partition, generation)
        except Exception:  # a hook never raises: the first post restores instead
            self._log.exception("could not start restoring boards from %s", self.state_topic)

    def revoked(self, partitions: list[HeldPartition]) -> None:
        for topic, partition, _ in partitions:
            if topic == self.consumed_topic:
                self._held.pop(partition, None)

    def _start(self, partition: int, generation: int) -> asyncio.Task[_Held]:
        under_way = self._restoring.get(partition)
        if under_way is not None and under_way[0] == generation and not _failed(under_way[1]):
            return under_way[1]
        if self._serde is None:
            self._serde = Serde(registry_client())
        task = asyncio.create_task(
            asyncio.to_thread(self._read, self._serde, partition, generation)
        )
        task.add_done_callback(_failed)  # (a failure is raised where it is awaited)
        self._restoring[partition] = (generation, task)
        return task

    def _read(self, serde: Serde, partition: int, generation: int) -> _Held:
        beside = self.consumed_topic if self._check else None
        boards = read_boards(serde, self.state_topic, [partition], beside=beside)
        self._log.info("restored %d board(s) from %s[%d]", len(boards), self.state_topic, partition)
        return _Held(generation, boards)


def _failed(task: asyncio.Task[_Held]) -> bool:
    """Whether a restore ended without boards (a failed one is tried again on next use)."""
    return task.done() and (task.cancelled() or task.exception() is not None)
