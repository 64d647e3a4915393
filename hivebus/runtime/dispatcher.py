"""From consumed batch to completed offsets, for one agent, on the event loop thread.

`on_batch` tracks and schedules records; each started record runs as a task (decode, route,
handler attempts with backoff, outputs); the `Job` completes it once outputs are acked; the
agent's committer commits the lowest incomplete offsets. See offsets.py for what is committed
and scheduler.py for what runs when.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from confluent_kafka import KafkaError, Message, TopicPartition

from hivebus.contracts import (
    Encoder,
    HeaderBuilder,
    Record,
    Serde,
    UndecodableRecord,
)
from hivebus.kafka.records import Consumed
from hivebus.runtime import metrics
from hivebus.runtime.agent import Agent, Handler
from hivebus.runtime.context import Context
from hivebus.runtime.deadletter import Failure, dead_letter_headers, dlq_topic
from hivebus.runtime.job import Job
from hivebus.runtime.offsets import PartitionOffsets
from hivebus.runtime.scheduler import Ordering, Partition, Scheduler, lane_of

if TYPE_CHECKING:
    from hivebus.kafka.consumer import ConsumerThread
    from hivebus.kafka.producer import AsyncProducer
    from hivebus.llm import LLM

log = logging.getLogger("hivebus.runtime")
_NO_ROUTE = object()
_NO_OUTPUT = (
    "handler {} returned events but declares no output topic "
    "(use @agent.on(..., output='topic') or ctx.publish)"
)


class HandlerOutputError(Exception):
    pass


class Dispatcher:
    def __init__(
        self,
        agent: Agent,
        *,
        serde: Serde,
        producer: AsyncProducer,
        consumer: ConsumerThread,
        llm_factory: Callable[[], LLM],
        drain_grace_s: float = 15.0,
    ) -> None:
        self.agent = agent
        self.serde = serde
        self.producer = producer
        self.consumer = consumer
        self.llm_factory = llm_factory
        self.drain_grace_s = drain_grace_s
        self.headers = HeaderBuilder(f"hivebus://agents/{agent.name}")
        self.scheduler: Scheduler[Job] = Scheduler(
            max_in_flight=agent.max_in_flight,
            high_watermark=max(1000, 4 * agent.max_in_flight),
            low_watermark=max(500, 2 * agent.max_in_flight),
        )
        self.offsets: dict[Partition, PartitionOffsets] = {}
        self.active: dict[Partition, int] = {}  # started and not yet complete
        self._ordering = Ordering(agent.ordering)
        self._routes: dict[tuple[str, str], Handler | object] = {}
        self._encoders: dict[tuple[str, type[Record], bool], Encoder] = {}
        self.emitted: set[str] = set()  # record types published so far, for the directory
        self.assignments = 0  # rebalance callbacks seen: a test and operator signal
        self.revocations = 0
        self.pauses = 0  # partitions paused for backpressure, and resumed
        self.resumes = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Event()
        self._draining = 0  # revocations waiting for in-flight work
        self._dlq = dlq_topic(agent.name)
        self._log = logging.getLogger(f"hivebus.agent.{agent.name}")
        self.stats = metrics.AgentStats(agent.name)
        self._loop = asyncio.get_running_loop()

    # ---- intake (called by the consumer thread's hand-over, on the loop) ----

    def on_batch(self, messages: list[Consumed]) -> None:
        offsets_of, scheduler, ordering = self.offsets, self.scheduler, self._ordering
        counts: dict[str, int] = {}
        for message in messages:
            error = message.error()
            if error is not None:
                self._consumer_error(error)
                continue
            topic, number = message.topic(), message.partition()
            partition = (topic, number)
            offsets = offsets_of.get(partition)
            if offsets is None:  # revoked while the batch was in transit
                continue
            counts[topic] = counts.get(topic, 0) + 1
            offset = message.offset()
            offsets.track(offset)
            if offsets.already_done(offset):
                offsets.complete(offset)
                continue
            job = Job(self, message, partition)
            scheduler.admit(job, partition, lane_of(ordering, topic, number, message.key()))
        consumed = self.stats.consumed
        for topic, count in counts.items():
            consumed[topic] = consumed.get(topic, 0) + count
        self._pump()
        paused = scheduler.to_pause()
        if paused:
            self.pauses += len(paused)
            self.consumer.pause([TopicPartition(t, p) for t, p in paused])

    def _pump(self) -> None:
        active, next_ready = self.active, self.scheduler.next_ready
        while (ready := next_ready()) is not None:
            job, partition, lane = ready
            job.lane = lane
            active[partition] = active.get(partition, 0) + 1
            self._start(job)
        self.stats.in_flight = self.scheduler.running
        resumed = self.scheduler.to_resume()
        if resumed:
            self.resumes += len(resumed)
            self.consumer.resume([TopicPartition(t, p) for t, p in resumed])

    # ---- one record ----
    #
    # A sync handler (`def`) runs inline, right here in the pump: fast transforms pay for no
    # task. An async handler (`async def`) runs as a task, so slow calls overlap. A failed
    # attempt of either kind retries in a task, so backoff never blocks the loop.

    def _start(self, job: Job) -> None:
        try:
            prepared = self._prepare(job)
        except Exception as error:  # e.g. the registry unreachable for a new schema id
            self._spawn(self._prepare_later(job, error))
            return
        if prepared is None:  # skipped, or already on its way to the dead-letter topic
            self._handled(job)
            return
        handler, event = prepared
        if handler.is_async:
            self._spawn(self._run(job, handler, event, 1))
        elif self._attempt_inline(job, handler, event, 1):
            self._handled(job)
        else:
            self._spawn(self._run(job, handler, event, 2))

    def _prepare(self, job: Job) -> tuple[Handler, Record] | None:
        """Decode and route; None when the record is skipped or dead-lettered."""
        message = job.message
        value = message.value() or b""
        try:
            writer = self.serde.writer(value)
            handler = self._route(message.topic(), writer.fullname)
            if handler is None:
                metrics.ignored(self.agent.name, message.topic()).inc()
                return None
            event = self.serde.decode(value, handler.event_type)
        except UndecodableRecord as error:
            job.send_to_dead_letters(Failure("undecodable", error.reason, str(error), 0))
            return None
        job.headers = message.headers()
        raw_key = message.key()
        job.key = raw_key.decode(errors="replace") if raw_key is not None else None
        return handler, event

    async def _prepare_later(self, job: Job, first_error: Exception) -> None:
        """Decoding failed for a reason outside the record (the registry is unreachable, say):
        retry with the agent's backoff, holding back only this lane; dead-letter at the end."""
        error, retry = first_error, self.agent.retry
        try:
            for attempt in range(1, retry.attempts):
                self._log.warning("cannot decode %s yet (%s); retrying", _where(job.message), error)
                await asyncio.sleep(retry.delay(attempt))
                try:
                    prepared = self._prepare(job)
                except Exception as again:
                    error = again
                    continue
                if prepared is not None:
                    handler, event = prepared
                    await self._run(job, handler, event, 1)
                return
            job.send_to_dead_letters(Failure("runtime", type(error).__name__, str(error), 0))
        finally:
            if not job.handler_done:
                self._handled(job)
                self._pump()

    def _context(self, job: Job, attempt: int) -> Context:
        message = job.message
        return Context(
            self.agent.name, message.topic(), message.partition(), message.offset(), job.key,
            job.headers, attempt, job, self.llm_factory, self._log,
        )  # fmt: skip

    def _attempt_inline(self, job: Job, handler: Handler, event: Record, attempt: int) -> bool:
        """One attempt of a sync handler; True when the record is done with (or dead)."""
        ctx = self._context(job, attempt)
        started = time.perf_counter()
        try:
            result = handler.fn(event, ctx)
            if result is not None:
                self._emit_result(handler, result, job, ctx)
        except Exception as error:
            return self._failed(job, error, attempt)
        self.stats.observe(time.perf_counter() - started)
        return True

    async def _run(self, job: Job, handler: Handler, event: Record, first: int) -> None:
        try:
            for attempt in range(first, self.agent.retry.attempts + 1):
                if attempt > 1:
                    await asyncio.sleep(self.agent.retry.delay(attempt - 1))
                if not handler.is_async:
                    if self._attempt_inline(job, handler, event, attempt):
                        return
                    continue
                ctx = self._context(job, attempt)
                started = time.perf_counter()
                try:
                    result = await self._await_handler(handler, event, ctx)
                    if result is not None:
                        self._emit_result(handler, result, job, ctx)
                except Exception as error:
                    if self._failed(job, error, attempt):
                        return
                    continue
                self.stats.observe(time.perf_counter() - started)
                return
        except Exception as error:  # a runtime fault: never lose the record
            self._log.exception("unexpected failure handling %s", _where(job.message))
            job.send_to_dead_letters(Failure("runtime", type(error).__name__, str(error), 0))
        finally:
            self._handled(job)
            self._pump()

    def _failed(self, job: Job, error: Exception, attempt: int) -> bool:
        """Count a failed attempt; dead-letter after the last. True when no retry follows."""
        topic = job.message.topic()
        metrics.failed(self.agent.name, topic).inc()
        if attempt < self.agent.retry.attempts:
            metrics.retries(self.agent.name, topic).inc()
            return False
        self._log.warning(
            "%s failed after %d attempts (%s: %s): dead-lettered",
            _where(job.message), attempt, type(error).__name__, error,
        )  # fmt: skip
        job.send_to_dead_letters(Failure("handler", type(error).__name__, str(error), attempt))
        return True

    def _handled(self, job: Job) -> None:
        """The handler is finished with this record: free its lane and slot."""
        self.scheduler.finish(job.lane)
        job.handler_done = True
        job.finish_if_done()

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = self._loop.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _await_handler(self, handler: Handler, event: Record, ctx: Context) -> object:
        timeout = self.agent.handler_timeout_s
        awaitable = handler.fn(event, ctx)
        if timeout is None:
            return await awaitable  # type: ignore[misc]
        return await asyncio.wait_for(awaitable, timeout)  # type: ignore[arg-type]

    def _emit_result(self, handler: Handler, result: object, job: Job, ctx: Context) -> None:
        output = handler.output
        if isinstance(result, Record):
            if output is None:
                raise HandlerOutputError(_NO_OUTPUT.format(handler.fn.__name__))
            job.emit(output, result, ctx.key, ctx, handler.output_multi_type)
            return
        records = list(result)  # type: ignore[call-overload]
        if records and output is None:
            raise HandlerOutputError(_NO_OUTPUT.format(handler.fn.__name__))
        for record in records:
            if not isinstance(record, Record):
                raise HandlerOutputError(f"handler returned {type(record).__name__}, not a Record")
            job.emit(output, record, ctx.key, ctx, handler.output_multi_type)  # type: ignore[arg-type]

    def _route(self, topic: str, fullname: str) -> Handler | None:
        route = self._routes.get((topic, fullname), _NO_ROUTE)
        if route is _NO_ROUTE:
            route = self.agent.route(topic, fullname)
            self._routes[(topic, fullname)] = route
        return route  # type: ignore[return-value]

    # ---- outputs, dead letters, completion ----

    def encoder(self, topic: str, model: type[Record], multi_type: bool = False) -> Encoder:
        key = (topic, model, multi_type)
        encoder = self._encoders.get(key)
        if encoder is None:
            encoder = self._encoders[key] = self.serde.encoder(topic, model, multi_type=multi_type)
        return encoder

    def write_dead_letter(self, job: Job, failure: Failure) -> None:
        message = job.message
        metrics.DEAD_LETTERS.labels(self.agent.name, message.topic(), failure.kind).inc()

        def written(error: KafkaError | None, _: Message) -> None:
            if error is None:
                job.dead_letter_written()
                return
            # Nothing is dropped: keep trying; the offset stays incomplete meanwhile.
            self._log.error("dead-letter write failed (%s); retrying in 1 s", error.str())
            asyncio.get_running_loop().call_later(1.0, self.write_dead_letter, job, failure)

        self.producer.produce(
            self._dlq, message.value(), key=message.key(),
            headers=dead_letter_headers(message, self.agent.name, failure), on_delivery=written,
        )  # fmt: skip

    def complete(self, job: Job) -> None:
        partition = job.partition
        offsets = self.offsets.get(partition)
        if offsets is not None:
            offsets.complete(job.message.offset())
        if partition in self.active:
            self.active[partition] -= 1
        if self._draining:
            self._changed.set()

    # ---- commits and rebalances ----

    def committable(self, partitions: list[Partition] | None = None) -> list[TopicPartition]:
        result = []
        for partition in partitions if partitions is not None else list(self.offsets):
            offsets = self.offsets.get(partition)
            if offsets is None:
                continue
            commit = offsets.committable()
            if commit is not None:
                offset, metadata = commit
                result.append(_topic_partition(partition, offset, metadata))
        return result

    def commit(self) -> None:
        offsets = self.committable()
        if offsets:
            self.consumer.commit(offsets)

    async def assign(self, committed: list[TopicPartition]) -> None:
        for tp in committed:
            partition = (tp.topic, tp.partition)
            base = tp.offset if tp.offset >= 0 else None
            self.offsets[partition] = PartitionOffsets(base, tp.metadata)
            self.active[partition] = 0
        self.assignments += 1
        self._log.info("assigned %s", _names(committed))

    async def revoke(self, partitions: list[TopicPartition], lost: bool) -> list[TopicPartition]:
        """Stop work for these partitions, drain what runs (up to the grace), say what to commit."""
        gone = [(tp.topic, tp.partition) for tp in partitions]
        self.revocations += 1
        self.scheduler.drop(gone)  # never started: their offsets stay incomplete
        self._draining += 1
        try:
            await self._drain(gone, lost)
        finally:
            self._draining -= 1
        offsets = [] if lost else self.committable(gone)
        for partition in gone:
            self.offsets.pop(partition, None)
            self.active.pop(partition, None)
        self._log.info("%s %s", "lost" if lost else "revoked", _names(partitions))
        return offsets

    async def _drain(self, gone: list[Partition], lost: bool) -> None:
        if not lost:
            deadline = time.monotonic() + self.drain_grace_s
            while any(self.active.get(p, 0) for p in gone):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._log.warning("drain grace expired; unfinished work will run again")
                    break
                self._changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), remaining)

    def _consumer_error(self, error: KafkaError) -> None:
        if error.code() == KafkaError._PARTITION_EOF:
            return
        if error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
            # A pattern that matches no topic yet, or a topic still being created.
            self._log.info("%s", error.str())
            return
        self._log.warning("consumer error: %s", error.str())


def _topic_partition(partition: Partition, offset: int, metadata: str) -> TopicPartition:
    if metadata:  # metadata is read-only once constructed
        return TopicPartition(partition[0], partition[1], offset, metadata)
    return TopicPartition(partition[0], partition[1], offset)


def _where(message: Consumed) -> str:
    return f"{message.topic()}[{message.partition()}]@{message.offset()}"


def _names(partitions: list[TopicPartition]) -> str:
    return ", ".join(f"{tp.topic}[{tp.partition}]" for tp in partitions) or "nothing"
