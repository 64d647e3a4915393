"""From consumed batch to completed offsets, for one agent, on the event loop thread.

`on_batch` tracks and schedules records; each started record runs as a task (decode, route,
handler attempts with backoff, outputs); the `Job` completes it once outputs are acked; the
agent's committer commits the lowest incomplete offsets. See offsets.py for what is committed
and scheduler.py for what runs when.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from confluent_kafka import KafkaError, Message, TopicPartition

from hivebus.contracts import (
    Encoder,
    HeaderBuilder,
    Record,
    Serde,
    UndecodableRecord,
    parse_headers,
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
        self._encoders: dict[tuple[str, type[Record]], Encoder] = {}
        self.emitted: set[str] = set()  # record types published so far, for the directory
        self.assignments = 0  # rebalance callbacks seen: a test and operator signal
        self.revocations = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Event()
        self._dlq = dlq_topic(agent.name)
        self._log = logging.getLogger(f"hivebus.agent.{agent.name}")
        self._in_flight = metrics.in_flight(agent.name)

    # ---- intake (called by the consumer thread's hand-over, on the loop) ----

    def on_batch(self, messages: list[Consumed]) -> None:
        name, offsets_of, scheduler = self.agent.name, self.offsets, self.scheduler
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
            metrics.consumed(name, topic).inc()
            offset = message.offset()
            offsets.track(offset)
            if offsets.already_done(offset):
                offsets.complete(offset)
                continue
            job = Job(self, message, partition)
            scheduler.admit(job, partition, lane_of(self._ordering, topic, number, message.key()))
        self._pump()
        paused = scheduler.to_pause()
        if paused:
            self.consumer.pause([TopicPartition(t, p) for t, p in paused])

    def _pump(self) -> None:
        loop = asyncio.get_running_loop()
        while (ready := self.scheduler.next_ready()) is not None:
            job, partition, lane = ready
            job.lane = lane
            self.active[partition] = self.active.get(partition, 0) + 1
            task = loop.create_task(self._run(job))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        self._in_flight.set(self.scheduler.running)
        resumed = self.scheduler.to_resume()
        if resumed:
            self.consumer.resume([TopicPartition(t, p) for t, p in resumed])

    # ---- one record ----

    async def _run(self, job: Job) -> None:
        try:
            await self._handle(job)
        except Exception as error:  # a runtime fault: never lose the record
            self._log.exception("unexpected failure handling %s", _where(job.message))
            job.send_to_dead_letters(Failure("runtime", type(error).__name__, str(error), 0))
        finally:
            self.scheduler.finish(job.lane)
            job.handler_done = True
            job.finish_if_done()
            self._pump()

    async def _handle(self, job: Job) -> None:
        message = job.message
        value = message.value() or b""
        topic = message.topic()
        try:
            writer = self.serde.writer(value)
            handler = self._route(topic, writer.fullname)
            if handler is None:
                metrics.ignored(self.agent.name, topic).inc()
                return
            event = self.serde.decode(value, handler.event_type)
        except UndecodableRecord as error:
            job.send_to_dead_letters(Failure("undecodable", error.reason, str(error), 0))
            return
        meta = parse_headers(message.headers())
        raw_key = message.key()
        key = raw_key.decode(errors="replace") if raw_key is not None else None
        retry = self.agent.retry
        for attempt in range(1, retry.attempts + 1):
            ctx = Context(
                agent=self.agent.name, topic=topic, partition=message.partition(),
                offset=message.offset(), key=key, meta=meta, attempt=attempt, outputs=job,
                llm_factory=self.llm_factory, log=self._log,
            )  # fmt: skip
            started = time.perf_counter()
            try:
                result = await self._attempt(handler, event, ctx)
                if result is not None:
                    await self._publish_result(handler, result, job, ctx)
                metrics.latency(self.agent.name).observe(time.perf_counter() - started)
                return
            except Exception as error:
                metrics.failed(self.agent.name, topic).inc()
                if attempt == retry.attempts:
                    self._log.warning(
                        "%s failed after %d attempts (%s: %s): dead-lettered",
                        _where(message), attempt, type(error).__name__, error,
                    )  # fmt: skip
                    job.send_to_dead_letters(
                        Failure("handler", type(error).__name__, str(error), attempt)
                    )
                    return
                metrics.retries(self.agent.name, topic).inc()
                await asyncio.sleep(retry.delay(attempt))

    async def _attempt(self, handler: Handler, event: Record, ctx: Context) -> object:
        timeout = self.agent.handler_timeout_s
        if timeout is None:
            return await handler.fn(event, ctx)
        return await asyncio.wait_for(handler.fn(event, ctx), timeout)

    async def _publish_result(
        self, handler: Handler, result: object, job: Job, ctx: Context
    ) -> None:
        records = [result] if isinstance(result, Record) else list(result)  # type: ignore[call-overload]
        if not records:
            return
        if handler.output is None:
            raise HandlerOutputError(
                f"handler {handler.fn.__name__} returned events but declares no output topic "
                "(use @agent.on(..., output='topic') or ctx.publish)"
            )
        for record in records:
            if not isinstance(record, Record):
                raise HandlerOutputError(f"handler returned {type(record).__name__}, not a Record")
            await job.publish(handler.output, record, key=ctx.key, ctx=ctx)

    def _route(self, topic: str, fullname: str) -> Handler | None:
        route = self._routes.get((topic, fullname), _NO_ROUTE)
        if route is _NO_ROUTE:
            route = self.agent.route(topic, fullname)
            self._routes[(topic, fullname)] = route
        return route  # type: ignore[return-value]

    # ---- outputs, dead letters, completion ----

    def encoder(self, topic: str, model: type[Record]) -> Encoder:
        encoder = self._encoders.get((topic, model))
        if encoder is None:
            encoder = self._encoders[(topic, model)] = self.serde.encoder(topic, model)
        return encoder

    def count_produced(self, topic: str) -> None:
        metrics.produced(self.agent.name, topic).inc()

    def write_dead_letter(self, job: Job, failure: Failure) -> None:
        message = job.message
        metrics.DEAD_LETTERS.labels(self.agent.name, message.topic(), failure.kind).inc()

        def written(error: KafkaError | None, _: Message) -> None:
            if error is None:
                job.dead_letter_written()
                return
            # Nothing is dropped: keep trying; the offset stays incomplete meanwhile.
            self._log.error("dead-letter write failed (%s); retrying in 1 s", error.str())
            asyncio.get_running_loop().call_later(1.0, self.write_dead_letter_again, job, failure)

        self.producer.produce(
            self._dlq, message.value(), key=message.key(),
            headers=dead_letter_headers(message, self.agent.name, failure), on_delivery=written,
        )  # fmt: skip

    def write_dead_letter_again(self, job: Job, failure: Failure) -> None:
        self.write_dead_letter(job, failure)

    def complete(self, job: Job) -> None:
        partition = job.partition
        offsets = self.offsets.get(partition)
        if offsets is not None:
            offsets.complete(job.message.offset())
        if partition in self.active:
            self.active[partition] -= 1
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
        """Stop work for these partitions, wait (up to the grace) for what runs, say what to commit."""
        gone = [(tp.topic, tp.partition) for tp in partitions]
        self.revocations += 1
        self.scheduler.drop(gone)  # never started: their offsets stay incomplete
        if not lost:
            deadline = time.monotonic() + self.drain_grace_s
            while any(self.active.get(p, 0) for p in gone):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._log.warning("drain grace expired; unfinished work will run again")
                    break
                self._changed.clear()
                try:
                    await asyncio.wait_for(self._changed.wait(), remaining)
                except TimeoutError:
                    pass
        offsets = [] if lost else self.committable(gone)
        for partition in gone:
            self.offsets.pop(partition, None)
            self.active.pop(partition, None)
        self._log.info("%s %s", "lost" if lost else "revoked", _names(partitions))
        return offsets

    def _consumer_error(self, error: KafkaError) -> None:
        if error.code() == KafkaError._PARTITION_EOF:
            return
        if error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
            # A pattern that matches no topic yet, or a topic still being created.
            self._log.info("%s", error.str())
            return
        self._log.warning("consumer error: %s", error.str())

    @property
    def in_flight(self) -> int:
        return len(self._tasks)


def _topic_partition(partition: Partition, offset: int, metadata: str) -> TopicPartition:
    if metadata:  # metadata is read-only once constructed
        return TopicPartition(partition[0], partition[1], offset, metadata)
    return TopicPartition(partition[0], partition[1], offset)


def _where(message: Consumed) -> str:
    return f"{message.topic()}[{message.partition()}]@{message.offset()}"


def _names(partitions: list[TopicPartition]) -> str:
    return ", ".join(f"{tp.topic}[{tp.partition}]" for tp in partitions) or "nothing"
