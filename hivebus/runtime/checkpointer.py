"""Every commit of one agent, and what is committed when: the subtle part, in one place.

What: per partition, the lowest offset not yet complete, with the completed offsets above it
in the commit's metadata (`offsets.py`). A record is complete once its handler has finished
and the broker has acknowledged every record it produced (or its dead letter).

When:
- periodically (every `interval_s`), for each held partition whose position moved since the
  broker last accepted a commit of it. One commit per partition is in flight at a time: the
  next waits for the broker's answer, so commits cannot overtake each other and move a
  committed offset backwards. (An answer that never comes, a coordinator gone, say, is given
  up after `ANSWER_TIMEOUT_S` and the commit is sent again; the broker serves the requests of
  one connection in order, so even then the later one lands last.)
- on revoke, once intake has stopped and running jobs have ended or been cancelled: one
  synchronous commit of those partitions, sent by the consumer thread inside the revoke
  callback, after any commit it had queued before (so nothing older lands after it);
- on shutdown, the same as a revoke of everything (closing the consumer revokes).
- never for a lost partition: it already belongs to another member.

The acknowledged mark moves only on the broker's answer, per partition: a partition whose
commit failed (or a whole request that failed) is simply still behind, so the next tick sends
it again. Answers for an assignment that has since been revoked are ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from confluent_kafka import KafkaError, TopicPartition

from hivebus.runtime.assignment import Assignment, Assignments, Partition

ANSWER_TIMEOUT_S = 15.0
Commit = Callable[[list[TopicPartition]], None]


class Checkpointer:
    def __init__(
        self,
        assignments: Assignments,
        commit: Commit,
        *,
        interval_s: float = 0.5,
        log: logging.Logger,
    ) -> None:
        self.assignments = assignments
        self._commit = commit  # queues an asynchronous commit on the consumer thread
        self.interval_s = interval_s
        self.commits = 0  # partitions' commits the broker accepted: a test signal
        self._sent: dict[Partition, tuple[Assignment, int, str, float]] = {}
        self._task: asyncio.Task[None] | None = None
        self._log = log

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._periodically())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def tick(self) -> None:
        """Queue a commit of every held partition that moved and has no commit in flight."""
        now = time.monotonic()
        offsets = []
        for partition, assignment in self.assignments.items():
            if assignment.revoking:
                continue  # its final commit is the revoke's
            sent = self._sent.get(partition)
            if sent is not None and sent[0] is assignment and now - sent[3] < ANSWER_TIMEOUT_S:
                continue
            tp = self._position(assignment)
            if tp is not None:
                offsets.append(tp)
                self._sent[partition] = (assignment, tp.offset, tp.metadata or "", now)
        if offsets:
            self._commit(offsets)

    def final(self, held: list[Assignment]) -> list[TopicPartition]:
        """What to commit synchronously for partitions being revoked (never lost ones)."""
        offsets = []
        for assignment in held:
            self._sent.pop(assignment.partition, None)
            tp = self._position(assignment)
            if tp is not None:
                offsets.append(tp)
        return offsets

    def committed(self, error: KafkaError | None, partitions: list[TopicPartition]) -> None:
        """The broker's answer to a commit (on the event loop): move each accepted mark."""
        for tp in partitions:
            partition = (tp.topic, tp.partition)
            sent = self._sent.get(partition)
            if sent is None or sent[1] != tp.offset:
                continue  # an answer to a revoke's commit, or to one superseded
            del self._sent[partition]
            assignment = sent[0]
            failure = error if error is not None else tp.error
            if failure is not None:
                self._log.warning("commit of %s[%d] failed (%s); retrying", tp.topic,
                                  tp.partition, failure.str())  # fmt: skip
            elif self.assignments.get(partition) is assignment and not assignment.revoked:
                assignment.offsets.acknowledged(tp.offset, sent[2])
                self.commits += 1

    def final_committed(self, partitions: list[TopicPartition]) -> None:
        """The answer to a revoke's synchronous commit: report partitions the broker refused."""
        for tp in partitions:
            if tp.error is not None:
                self._log.warning("final commit of %s[%d] failed: %s (its completed records "
                                  "run again)", tp.topic, tp.partition, tp.error.str())  # fmt: skip

    def _position(self, assignment: Assignment) -> TopicPartition | None:
        position = assignment.offsets.to_commit()
        if position is None:
            return None
        offset, metadata = position
        topic, number = assignment.partition
        if metadata:  # metadata is read-only once constructed
            return TopicPartition(topic, number, offset, metadata)
        return TopicPartition(topic, number, offset)

    async def _periodically(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                self.tick()
            except Exception:  # never let one bad tick end committing for good
                self._log.exception("commit tick failed")
