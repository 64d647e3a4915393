"""Every record an agent produces goes through its outbox: outputs and dead letters alike.

The outbox owns the encoders, the CloudEvents headers, the producer and the dead-letter
topic. A job hands it outputs while its handler runs, then `seal`s it when the handler is
finished; the outbox calls `on_settled(job)` each time the sealed job has nothing left in
flight: once, usually, and once more if the executor answered a refused output by sending the
input to the dead-letter topic. A job whose assignment was revoked (or that was
cancelled) is fenced: its further outputs are refused with `Fenced`, raised into the handler.

Every output carries `ce_causationid` and `ce_correlationid` (see `Job.lineage`), also when
the input came from a producer that writes no CloudEvents headers. An outbox that tracing
marked `traced` also copies the current span's `ce_traceparent` into each output and into
each dead letter's error headers (`hivebus.runtime.tracecontext`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable

from confluent_kafka import KafkaError, KafkaException, Message

from hivebus.contracts import Encoder, HeaderBuilder, Record, Serde
from hivebus.contracts.errors import RegistryUnavailable
from hivebus.kafka.producer import AsyncProducer
from hivebus.runtime import metrics
from hivebus.runtime.deadletter import (
    FULL,
    WITHOUT_VALUE,
    Failure,
    dead_letter_record,
    dlq_topic,
    traced,
)
from hivebus.runtime.job import CANCELLED, Job
from hivebus.runtime.tracecontext import TRACE

Settled = Callable[[Job], None]
# Told of each record sent to the dead-letter topic, as it is (before it is acknowledged).
DeadLettered = Callable[[Job, Failure], None]
Key = str | bytes | None  # an output's key: the input's bytes, or what a handler chose
REGISTRY_BACKOFF_S = (0.2, 0.5, 1.0, 2.0, 5.0)
DEAD_LETTER_RETRY_S = 1.0


class Fenced(BaseException):
    """A job that lost its partition tried to publish. A BaseException, like cancellation,
    so a handler's `except Exception` cannot swallow it and carry on."""


class Outbox:
    shared_records = True  # `hold` and `emit_shared` work (not in exactly-once mode)
    traced = False  # set by tracing: outputs carry the current span's `ce_traceparent`

    def __init__(
        self,
        agent: str,
        *,
        serde: Serde,
        producer: AsyncProducer,
        stats: metrics.AgentStats,
        log: logging.Logger,
        version: str = "0",
    ) -> None:
        self.agent = agent
        self.version = version  # the agent's, for what a middleware writes about its jobs
        self.serde = serde
        self.producer = producer
        self.stats = stats
        self.on_settled: Settled = _unset
        self.emitted: set[str] = set()  # record types published so far, for the directory
        self._headers = HeaderBuilder(f"hivebus://agents/{agent}")
        self._encoders: dict[tuple[str, type[Record], bool], Encoder] = {}
        self._dlq = dlq_topic(agent)
        self._log = log
        self._waiters: dict[Job, asyncio.Future[None]] = {}  # see `acknowledged`
        # Who else must know of dead letters: the audit records those no handling's audit
        # saw (undecodable, refused late, a runtime fault). Each may hold the job for a
        # record of its own.
        self.dead_letter_listeners: list[DeadLettered] = []

    async def emit(
        self, job: Job, topic: str, record: Record, key: Key, multi_type: bool = False
    ) -> None:
        """Encode and produce one output of `job`; its offset waits for the acknowledgement."""
        if not self.emit_cached(job, topic, record, key, multi_type):
            encoder = await self._encoder(topic, type(record), multi_type)
            self._encoders[(topic, type(record), multi_type)] = encoder
            self.emit_cached(job, topic, record, key, multi_type)

    def emit_cached(
        self, job: Job, topic: str, record: Record, key: Key, multi_type: bool = False
    ) -> bool:
        """`emit` with no coroutine when the encoder is known; False when it must be made."""
        encoder = self._encoders.get((topic, type(record), multi_type))
        if encoder is None:
            return False
        if job.assignment.revoked or job.state is CANCELLED:  # `job.fenced`, inline
            raise Fenced(f"{job.where} lost its partition; its output to {topic} is dropped")
        value = encoder.encode(record)
        headers = self._headers.caused(record.fullname, *job.raw_lineage())
        if self.traced:  # one attribute read per output when tracing is off
            trace = TRACE.get()
            if trace is not None:
                headers.extend(trace)
        self._send(job, topic, value, key, headers)
        self.emitted.add(record.fullname)
        observer = job.observer
        if observer is not None:  # the audit notes each output (headers[1]: its ce_id)
            observer.published(topic, headers[1][1], record)
        return True

    def emit_encoded(
        self, job: Job, topic: str, value: bytes, key: Key, headers: list[tuple[str, bytes]]
    ) -> None:
        """Produce a record of `job` that is already encoded, with its own headers: what a
        middleware writes about the job (the audit). It goes out like an output (held for
        the job's transaction in exactly-once mode), and the job waits for its
        acknowledgement, but it is not an output: no observer hears of it."""
        if job.assignment.revoked or job.state is CANCELLED:
            raise Fenced(f"{job.where} lost its partition; its record for {topic} is dropped")
        self._send(job, topic, value, key, headers)

    def hold(self, job: Job) -> None:
        """`job` must also wait for a record `emit_shared` will write on its behalf, with
        those of other jobs (the audit's batch of their decisions)."""
        if job.assignment.revoked or job.state is CANCELLED:
            raise Fenced(f"{job.where} lost its partition; its shared record is dropped")
        job.pending += 1

    def emit_shared(
        self, jobs: list[Job], topic: str, value: bytes, key: Key,
        headers: list[tuple[str, bytes]], partition: int,
    ) -> None:  # fmt: skip
        """Produce one record for several held jobs; each settles once it is acknowledged
        (a refusal is each one's delivery error: it is dead-lettered, as for an output).
        Not in exactly-once mode (`shared_records`): a record is in one job's transaction."""

        def acked(error: KafkaError | None, _: Message | None) -> None:
            if error is None:
                self.stats.count_produced(topic)
            else:
                for job in jobs:
                    if job.delivery_error is None:
                        job.delivery_error = error
            settled, waiters = self.on_settled, self._waiters
            for job in jobs:  # `_settle_one`, inline: a batch settles hundreds at once
                job.pending -= 1
                if not job.pending:
                    if waiters:
                        self._wake(job)
                    if job.sealed:
                        settled(job)

        try:
            self.producer.produce(
                topic, value, key=key, headers=headers, on_delivery=acked, partition=partition
            )
        except KafkaException as error:  # refused before it left: too large, say
            acked(error.args[0], None)

    def _send(
        self, job: Job, topic: str, value: bytes, key: Key, headers: list[tuple[str, bytes]]
    ) -> None:
        self.producer.produce(
            topic, value, key=key, headers=headers, on_delivery=functools.partial(self._acked, job)
        )  # a refusal (too large, say) raises into the handler: counted only once queued
        job.pending += 1

    def dead_letter(self, job: Job, failure: Failure) -> None:
        """Send the job's original record, bytes untouched, to the agent's dead-letter topic.

        Counted as pending at once and settled only by an acknowledged write: a refused or
        failed write is retried, never leaked (it would hold the partition's commit forever).
        """
        if job.fenced:  # cancelled or revoked: the next owner handles the record again
            raise Fenced(f"{job.where} lost its partition; it is not dead-lettered here")
        job.dead = True
        job.pending += 1
        self.tell_dead_letter(job, failure)
        self._write_dead_letter(job, traced(failure) if self.traced else failure)

    def tell_dead_letter(self, job: Job, failure: Failure) -> None:
        """Tell the listeners; one that fails is logged, and the dead letter stands."""
        for listener in self.dead_letter_listeners:
            try:
                listener(job, failure)
            except Fenced:
                raise
            except Exception:
                self._log.exception("a dead-letter listener failed on %s", job.where)

    def seal(self, job: Job) -> None:
        """The handler is finished with `job`: settle it once its records are acknowledged."""
        job.sealed = True
        if not job.pending:
            self.on_settled(job)

    async def prepare(self, topic: str, model: type[Record], multi_type: bool = False) -> None:
        """Register (or look up) an output's schema before any record needs it.

        A registry outage is not fatal here (the first record will wait for it instead);
        a contract the registry refuses is, so it surfaces at start with its reason.
        """
        try:
            encoder = await self.serde.encoder_async(topic, model, multi_type=multi_type)
        except RegistryUnavailable as error:
            self._log.warning("cannot prepare %s for %s yet: %s", model.fullname, topic, error)
            return
        self._encoders[(topic, model, multi_type)] = encoder

    async def _encoder(self, topic: str, model: type[Record], multi_type: bool) -> Encoder:
        """The encoder, registering its schema off the event loop; a registry outage waits
        (the record is fine, so it must not be dead-lettered for it)."""
        for attempt in range(1_000_000):
            try:
                encoder = await self.serde.encoder_async(topic, model, multi_type=multi_type)
            except RegistryUnavailable as error:
                delay = REGISTRY_BACKOFF_S[min(attempt, len(REGISTRY_BACKOFF_S) - 1)]
                self._log.warning("cannot register %s yet (%s); retrying", model.fullname, error)
                await asyncio.sleep(delay)
                continue
            self._encoders[(topic, model, multi_type)] = encoder
            return encoder
        raise AssertionError("unreachable")

    def _acked(self, job: Job, error: KafkaError | None, message: Message) -> None:
        if error is None:
            self.stats.count_produced(message.topic() or "")
        elif job.delivery_error is None:
            job.delivery_error = error
        job.pending -= 1  # `_settle_one`, inline: this runs once per output
        if not job.pending:
            if self._waiters:
                self._wake(job)
            if job.sealed:
                self.on_settled(job)

    def _settle_one(self, job: Job) -> None:
        job.pending -= 1
        if not job.pending:
            self._wake(job)
            if job.sealed:
                self.on_settled(job)

    async def acknowledged(self, job: Job) -> None:
        """Wait until the broker has answered for every record `job` produced so far (a
        refusal is answered too: it dead-letters the job when it settles)."""
        while job.pending:
            waiter = self._waiters.get(job)
            if waiter is None:
                waiter = self._waiters[job] = asyncio.get_running_loop().create_future()
            await waiter

    def _wake(self, job: Job) -> None:
        waiter = self._waiters.pop(job, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _write_dead_letter(self, job: Job, failure: Failure, stage: int = FULL) -> None:
        message = job.message
        value, headers = dead_letter_record(message, self.agent, failure, stage)

        def written(error: KafkaError | None, _: Message) -> None:
            if error is None:
                metrics.DEAD_LETTERS.labels(self.agent, message.topic(), failure.kind).inc()
                self._settle_one(job)
            elif error.code() == KafkaError.MSG_SIZE_TOO_LARGE and stage < WITHOUT_VALUE:
                self._write_dead_letter(job, failure, stage + 1)  # the topic's limit is lower
            else:
                self._retry_dead_letter(job, failure, stage, error.str())

        try:
            self.producer.produce(
                self._dlq, value, key=message.key(), headers=headers, on_delivery=written
            )
        except KafkaException as error:  # refused before it left: too large, say
            if error.args[0].code() == KafkaError.MSG_SIZE_TOO_LARGE and stage < WITHOUT_VALUE:
                if stage + 1 == WITHOUT_VALUE:
                    self._log.error("%s is too large for the dead-letter topic even with "
                                    "short error headers: dead-lettered without its value",
                                    job.where)  # fmt: skip
                self._write_dead_letter(job, failure, stage + 1)
                return
            self._retry_dead_letter(job, failure, stage, error.args[0].str())

    def _retry_dead_letter(self, job: Job, failure: Failure, stage: int, reason: str) -> None:
        """Nothing is dropped: keep trying while the job still owns its partition."""
        if job.fenced:  # the next owner handles the record again
            self._settle_one(job)
            return
        self._log.error("dead-letter write for %s failed (%s); retrying", job.where, reason)
        asyncio.get_running_loop().call_later(
            DEAD_LETTER_RETRY_S, self._write_dead_letter, job, failure, stage
        )


def _unset(job: Job) -> None:
    raise RuntimeError("Outbox.on_settled was never set")
