"""Exactly-once mode (`Agent(guarantee="exactly_once")`): the outbox and the checkpointer together.

A job's outputs (and its dead letter, if any) are encoded while its handler runs but held in
the outbox, not produced. Every `interval_s` the checkpointer runs one Kafka transaction: the
held records of every sealed job, plus the partitions' positions with those jobs counted as
complete (completed-beyond offsets in the metadata, as in at-least-once mode), sent with the
consumer's group metadata. Only when the broker commits it are those jobs settled. (Their
offsets are marked complete in memory as the transaction starts, so its positions include
them; if it aborts they go again in the next one, so the marks stay true for what commits.)

- An aborted transaction changes nothing visible: its jobs stay held and go again, with the
  same or a later position, in the next one. An output the producer would refuse is refused
  while the handler runs (the attempt fails), and 20 aborts in a row stop the agent.
- A failed attempt's held outputs are dropped (`Job.discard_attempt`): only the attempt that
  succeeded, or the dead letter, is committed.
- A revoke runs one last transaction for the partitions leaving, inside the revoke callback.
- A member the group has fenced out (a zombie: SIGSTOPped past its session timeout) fails
  `send_offsets_to_transaction` and aborts; once it hears its partitions are lost, their held
  jobs are cancelled. It commits nothing.
- A slow handler never holds a transaction open: transactions contain only finished jobs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from confluent_kafka import KafkaException, TopicPartition

from hivebus.errors import HivebusError
from hivebus.kafka.transactions import (
    TransactionAborted,
    TransactionalProducer,
    TransactionFatal,
)
from hivebus.runtime.assignment import Assignment, Assignments
from hivebus.runtime.checkpointer import Checkpointer
from hivebus.runtime.deadletter import (
    BRIEF,
    FULL,
    WITHOUT_VALUE,
    Failure,
    dead_letter_record,
    record_size,
    traced,
)
from hivebus.runtime.job import Job
from hivebus.runtime.outbox import Fenced, Key, Outbox

if TYPE_CHECKING:
    from hivebus.kafka.transactions import GroupMetadata


class OutputTooLarge(HivebusError):
    """An output the producer would refuse: the handler's attempt fails (then retries,
    then dead-letters) instead of every later transaction aborting."""


MAX_ABORTS = 20  # in a row (2 s at the default interval): something no retry will fix


class TransactionalOutbox(Outbox):
    """Holds each job's records until the checkpointer's transaction carries them."""

    shared_records = False  # each record is in the transaction of the one job it is for

    def __init__(self, *args: Any, max_bytes: int = 1_000_000, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_bytes = max_bytes  # the transactional producer's message.max.bytes
        self.sealed: list[Job] = []  # finished jobs waiting for a committed transaction

    def _send(
        self, job: Job, topic: str, value: bytes, key: Key, headers: list[tuple[str, bytes]]
    ) -> None:
        # Checked here, not at commit: one record the producer refuses would abort every
        # transaction after it. Raised into the handler, like at-least-once's refusal.
        if record_size(value, key, headers) > self.max_bytes:
            raise OutputTooLarge(
                f"an output of {job.where} to {topic} is larger than the producer's "
                f"message.max.bytes ({self.max_bytes})"
            )
        if job.buffer is None:
            job.buffer = []
        job.buffer.append((topic, value, key, headers))

    def dead_letter(self, job: Job, failure: Failure) -> None:
        if job.fenced:
            raise Fenced(f"{job.where} lost its partition; it is not dead-lettered here")
        job.dead = True
        message = job.message
        if self.traced:
            failure = traced(failure)
        for stage in (FULL, BRIEF, WITHOUT_VALUE):
            value, headers = dead_letter_record(message, self.agent, failure, stage)
            if record_size(value, message.key(), headers) <= self.max_bytes:
                break
        if job.buffer is None:
            job.buffer = []
        job.buffer.append((self._dlq, value, message.key(), headers))
        self.tell_dead_letter(job, failure)

    def seal(self, job: Job) -> None:
        job.sealed = True
        self.sealed.append(job)

    async def acknowledged(self, job: Job) -> None:
        """Nothing to wait for: the records commit with the job, in its transaction."""


class TransactionalCheckpointer(Checkpointer):
    def __init__(
        self,
        assignments: Assignments,
        outbox: TransactionalOutbox,
        producer: TransactionalProducer,
        group_metadata: GroupMetadata,
        *,
        interval_s: float = 0.1,
        on_fatal: Callable[[BaseException], None],
        log: logging.Logger,
    ) -> None:
        super().__init__(assignments, _no_commit, interval_s=interval_s, log=log)
        self._on_fatal = on_fatal
        self._outbox = outbox
        self._producer = producer
        self._group_metadata = group_metadata
        self._lock = asyncio.Lock()
        self.transactions = 0  # committed: a test and bench signal
        self.fatal: BaseException | None = None

    async def _periodically(self) -> None:
        aborted = 0
        while self.fatal is None:
            await asyncio.sleep(self.interval_s)
            try:
                # Shielded: a transaction under way finishes even when the ticking stops,
                # and the revoke's last one waits for it on the lock.
                committed = await asyncio.shield(self.transact())
            except Exception as error:  # never let committing end silently
                self._log.exception("exactly-once commit loop failed")
                self._fail(error)
                return
            aborted = 0 if committed else aborted + 1
            if aborted >= MAX_ABORTS:
                self._fail(TransactionFatal(f"{aborted} transactions in a row were aborted"))
                return

    def _fail(self, error: BaseException) -> None:
        self.fatal = error
        self._on_fatal(error)

    async def transact(self, only: list[Assignment] | None = None) -> bool:
        """Commit the held records of sealed jobs with the positions; True when committed."""
        async with self._lock:
            if self.fatal is not None:
                return False
            self._outbox.sealed = [j for j in self._outbox.sealed if not j.fenced]
            jobs = [j for j in self._outbox.sealed if only is None or j.assignment in only]
            for job in jobs:  # counted complete in this transaction's positions
                job.assignment.offsets.complete(job.message.offset())
            held = only if only is not None else list(self.assignments.values())
            offsets = [tp for a in held if not a.revoked and (tp := self._position(a))]
            if not jobs and not offsets:
                return True
            records = [record for job in jobs for record in job.buffer or ()]
            try:
                try:
                    self._producer.begin(records)  # on the loop: it waits for nothing
                except KafkaException as error:
                    await asyncio.to_thread(self._producer.recover, error)
                await asyncio.to_thread(self._producer.finish, offsets, self._group_metadata)
            except TransactionAborted as error:
                self._log.warning("%s; %d job(s) go again", error, len(jobs))
                return False
            except TransactionFatal as error:
                self._log.error("%s: the agent cannot commit any more", error)
                self._fail(error)
                return False
            self.transactions += 1
            count = self._outbox.stats.count_produced
            for record in records:
                count(record[0])
            for tp in offsets:
                self._acknowledge(tp)
            done = set(jobs)
            self._outbox.sealed = [j for j in self._outbox.sealed if j not in done]
            for job in jobs:
                job.buffer = None
                self._outbox.on_settled(job)
            return True

    def final(self, held: list[Assignment]) -> list[TopicPartition]:
        """Revoke: the last transaction runs in `transact(only=held)`; nothing to commit after."""
        return []

    def _acknowledge(self, tp: TopicPartition) -> None:
        assignment = self.assignments.get((tp.topic, tp.partition))
        if assignment is not None and not assignment.revoked:
            assignment.offsets.acknowledged(tp.offset, tp.metadata or "")
            self.commits += 1


def _no_commit(offsets: list[TopicPartition]) -> None:
    raise RuntimeError("exactly-once offsets are committed in transactions only")
