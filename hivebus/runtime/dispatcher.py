"""Intake, for one agent, on the event loop: track each record's offset, admit it to the
scheduler, start jobs as slots free up, pause partitions that are too far ahead.

The dispatcher never produces, commits or retries: the executor runs jobs, the outbox produces,
the checkpointer commits. On a revoke it stops intake for those partitions, lets running jobs
finish within the grace, and cancels the rest (see `revoke`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from confluent_kafka import KafkaError, TopicPartition

from hivebus.kafka.records import Consumed
from hivebus.runtime import metrics
from hivebus.runtime.agent import Agent
from hivebus.runtime.assignment import Assignment, Assignments, Partition
from hivebus.runtime.job import Job, JobState
from hivebus.runtime.offsets import PartitionOffsets
from hivebus.runtime.scheduler import Ordering, Scheduler, lane_of

PauseResume = Callable[[list[TopicPartition]], None]
CANCEL_WAIT_S = 2.0  # how long cancelled jobs get to unwind before the revoke goes on


class Dispatcher:
    def __init__(
        self,
        agent: Agent,
        *,
        assignments: Assignments,
        pause: PauseResume,
        resume: PauseResume,
        stats: metrics.AgentStats,
        log: logging.Logger,
    ) -> None:
        self.agent = agent
        self.assignments = assignments
        self.scheduler: Scheduler[Job] = Scheduler(
            max_in_flight=agent.max_in_flight,
            high_watermark=max(1000, 4 * agent.max_in_flight),
            low_watermark=max(500, 2 * agent.max_in_flight),
        )
        self.start_job: Callable[[Job], None] = _unbound
        self.cancel_job: Callable[[Job], None] = _unbound
        self.stats = stats
        self.assigned = 0  # assign callbacks seen: a test and operator signal
        self.revocations = 0
        self.pauses = 0  # partitions paused for backpressure, and resumed
        self.resumes = 0
        self._pause, self._resume = pause, resume
        self._paused: set[Assignment] = set()
        self._ordering = Ordering(agent.ordering)
        self._pumping = False
        self._changed = asyncio.Event()  # a job ended: a drain looks again
        self._draining = 0  # drains waiting on `_changed`
        self._log = log

    # ---- intake (the consumer thread's hand-over, on the loop) ----

    def on_batch(self, messages: list[Consumed]) -> None:
        """Track each record, then start it at once if it may run now, else queue it."""
        assignments, scheduler, ordering = self.assignments, self.scheduler, self._ordering
        claim, start = scheduler.claim, self.start_job
        counts: dict[str, int] = {}
        touched: set[Assignment] = set()
        self._pumping = True  # jobs that finish inline must not start a pump of their own
        try:
            for message in messages:
                error = message.error()
                if error is not None:
                    self._consumer_error(error)
                    continue
                topic, number = message.topic(), message.partition()
                assignment = assignments.get((topic, number))
                if assignment is None or assignment.revoking:  # revoked while in transit
                    continue
                counts[topic] = counts.get(topic, 0) + 1
                offsets, offset = assignment.offsets, message.offset()
                offsets.track(offset)
                if offsets.already_done(offset):
                    offsets.complete(offset)
                    continue
                job = Job(message, assignment)
                lane = lane_of(ordering, topic, number, job.raw_key)
                if claim(lane):
                    job.lane = lane
                    assignment.running.add(job)
                    start(job)
                else:
                    touched.add(assignment)
                    scheduler.admit(job, assignment.partition, lane)
        finally:
            self._pumping = False
        consumed = self.stats.consumed
        for topic, count in counts.items():
            consumed[topic] = consumed.get(topic, 0) + count
        self.pump()
        for assignment in touched:
            self._maybe_pause(assignment)

    def pump(self) -> None:
        """Start ready jobs while slots are free."""
        if self._pumping:  # a job that finished inline: the running pump goes on
            return
        self._pumping = True
        try:
            next_ready, start = self.scheduler.next_ready, self.start_job
            while (ready := next_ready()) is not None:
                job, _, lane = ready
                job.lane = lane
                job.assignment.running.add(job)
                start(job)
        finally:
            self._pumping = False
        self.stats.in_flight = self.scheduler.running
        if self._paused:
            self._maybe_resume()

    # ---- the executor's callbacks ----

    def released(self, job: Job) -> None:
        """The handler is finished with `job`: its lane and slot go to the next record."""
        self.scheduler.finish(job.lane)
        if not self._pumping:  # else the running pump picks the next record up
            self.pump()

    def ended(self, job: Job, complete: bool) -> None:
        job.assignment.end(job, complete=complete)
        if self._draining:
            self._changed.set()
        if self._paused:
            self._maybe_resume()

    # ---- rebalances ----

    def assign(self, committed: list[TopicPartition]) -> list[Assignment]:
        fresh = []
        for tp in committed:
            base = tp.offset if tp.offset >= 0 else None
            assignment = Assignment((tp.topic, tp.partition), PartitionOffsets(base, tp.metadata))
            self.assignments[assignment.partition] = assignment
            fresh.append(assignment)
        self.assigned += 1
        if committed:  # librdkafka keeps a pause across revoke and re-assign: start clean
            self._resume([TopicPartition(tp.topic, tp.partition) for tp in committed])
        return fresh

    async def stop_intake(
        self, held: list[Assignment], *, grace_s: float, until_sealed: bool = False
    ) -> None:
        """Drop what waits, let running jobs end within `grace_s`, cancel what is left.

        `until_sealed` (exactly-once): a job whose handler finished counts as ended, because
        its records wait for the revoke's last transaction, not for acknowledgements.
        """
        self.revocations += 1
        for assignment in held:
            assignment.revoking = True
            self._paused.discard(assignment)
        for job in self.scheduler.drop([a.partition for a in held]):
            job.move(JobState.CANCELLED)  # never started: its offset stays incomplete
        deadline = time.monotonic() + grace_s

        def busy(job: Job) -> bool:
            return not job.sealed if until_sealed else True

        self._draining += 1
        try:
            while any(busy(job) for a in held for job in a.running):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    left = sum(busy(job) for a in held for job in a.running)
                    self._log.warning("drain grace expired: cancelling %d job(s)", left)
                    break
                self._changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), remaining)
        finally:
            self._draining -= 1
        tasks = []
        for assignment in held:
            for job in [j for j in assignment.running if busy(j)]:
                if job.task is not None:
                    tasks.append(job.task)
                self.cancel_job(job)
        if tasks:  # let them unwind (a handler may clean up), but never wait on one for long
            await asyncio.wait(tasks, timeout=CANCEL_WAIT_S)

    # ---- backpressure ----

    def _maybe_pause(self, assignment: Assignment) -> None:
        if assignment in self._paused:
            return
        if self.scheduler.over_high(assignment.partition) or assignment.offsets.full():
            self._paused.add(assignment)
            self.pauses += 1
            self._pause([TopicPartition(*assignment.partition)])

    def _maybe_resume(self) -> None:
        for assignment in list(self._paused):
            if self.scheduler.under_low(assignment.partition) and not assignment.offsets.full():
                self._paused.discard(assignment)
                self.resumes += 1
                self._resume([TopicPartition(*assignment.partition)])

    def _consumer_error(self, error: KafkaError) -> None:
        if error.code() == KafkaError._PARTITION_EOF:
            return
        if error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
            # A pattern that matches no topic yet, or a topic still being created.
            self._log.info("%s", error.str())
            return
        self._log.warning("consumer error: %s", error.str())


def _unbound(job: Job) -> None:
    raise RuntimeError("the dispatcher was not given an executor")


def names(partitions: list[Partition]) -> str:
    return ", ".join(f"{topic}[{number}]" for topic, number in partitions) or "nothing"
