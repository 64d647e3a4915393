"""Executing run requests: the handler of a durable agent's run agent.

For each request it finds the run's journal (restored once per assignment of its partition)
and acts on its kind: `start` begins a run (a repeated start of a known run is the same
run), `wake` (a timer) and `resume` (an operator, for a parked run) go on with it, `signal`
keeps the signal in the journal and goes on, `cancel` ends it. Going on means calling the
agent's own handler with a `DurableContext` that replays what is recorded. A run that waits
is saved with its wake-up time and scheduled (see timers.py); a completed run publishes its
events and results, and its journal says so in the same transaction (exactly-once) or once
they are acknowledged (at-least-once), so a run never publishes twice for one completion.
"""

from __future__ import annotations

import asyncio
import logging

from hivebus.contracts import Serde, registry_client
from hivebus.durable.blobs import BlobStore
from hivebus.durable.calls import Requests
from hivebus.durable.children import Children
from hivebus.durable.context import DurableContext
from hivebus.durable.errors import DeterminismError
from hivebus.durable.journal import JournalStore
from hivebus.durable.records import CANCEL, RESUME, SIGNAL, START, WAKE, RunJournal, RunRequest
from hivebus.durable.retention import Sweeper
from hivebus.durable.run import (
    CANCELLED,
    COMPLETED,
    ENDED,
    FAILED,
    PARKED,
    PENDING,
    RUNNING,
    SLEEPING,
    WAITING,
    Run,
    Suspended,
    stamp,
)
from hivebus.durable.timers import Timers
from hivebus.durable.topics import blobs_topic, journal_topic, runs_topic
from hivebus.kafka.config import producer_config
from hivebus.kafka.producer import AsyncProducer
from hivebus.runtime import Agent, Context
from hivebus.runtime.executor import handler_records
from hivebus.runtime.middlewares.dead_letters import NonRetryableError

# A run waits on each journal write, so no linger (batches still form while writes are in
# flight), and its acknowledgement is served this soon (see producer.py): 2.3 -> 1.2 ms here.
JOURNAL_PRODUCER, JOURNAL_POLL_S = {"linger.ms": 0}, 0.0005


class Runs:
    """The runs of one durable agent in this worker."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.inbox = runs_topic(agent.name)
        self.log = logging.getLogger(f"hivebus.agent.{agent.name}.runs")
        self.timers = Timers(
            self.inbox, wake=self.wake, held=self._held, forget=self._forget, log=self.log
        )
        self.sweeper = Sweeper(self.inbox, lambda: (self.store(), self.blobs()), self.log)
        self.children = Children(agent.name, agent.calls)  # cancelled when a run ends first
        self._store: JournalStore | None = None
        self._serde: Serde | None = None
        self._producer: AsyncProducer | None = None
        self._blobs: BlobStore | None = None
        self._requests: Requests | None = None

    def blobs(self) -> BlobStore:
        self.store()
        assert self._blobs is not None
        return self._blobs

    def store(self) -> JournalStore:
        """The journal store, made on first use on the worker's loop."""
        if self._store is None:
            self._serde = Serde(registry_client())
            self._producer = AsyncProducer(
                producer_config(f"hivebus-journal-{self.agent.name}", JOURNAL_PRODUCER),
                asyncio.get_running_loop(),
                poll_interval_s=JOURNAL_POLL_S,
            )
            self._blobs = BlobStore(blobs_topic(self.agent.name), self._producer)
            self._requests = Requests(
                self.agent.name, self.agent.calls, self._producer, self._serde
            )
            self._store = JournalStore(
                journal_topic(self.agent.name),
                serde=self._serde, producer=self._producer, log=self.log,
            )  # fmt: skip
        return self._store

    async def _held(self, partition: int, generation: int) -> dict[str, RunJournal]:
        return await self.store().held(partition, generation)

    def _forget(self, partition: int) -> None:
        self.store().forget(partition)

    async def wake(self, run_id: str, partition: int) -> None:
        """A timer fired: ask for the run to go on, on its own partition of the inbox."""
        store = self.store()
        assert self._serde is not None and self._producer is not None
        request = RunRequest(run_id=run_id, kind=WAKE, requested_at=stamp())
        encoder = await self._serde.encoder_async(self.inbox, RunRequest)
        await self._producer.send(
            self.inbox, encoder.encode(request), key=run_id, partition=partition
        )
        self.log.debug("woke run %s (%s)", run_id, store.topic)

    async def handle(self, request: RunRequest, ctx: Context) -> None:
        store = self.store()
        serde = self._serde
        assert serde is not None
        journal = await store.get(request.run_id, ctx.partition, ctx.generation)
        if journal is None or (journal.state == PENDING and request.kind == START):
            journal = new_journal(self.agent.name, request, journal)
        if journal.state == PENDING and request.kind in (SIGNAL, CANCEL):
            # Ahead of its start (which may still be on its way through the intake): kept.
            run = Run(journal, store, ctx.partition, self.blobs())
            _keep_signal(journal, request)
            await run.end(CANCELLED if request.kind == CANCEL else PENDING, journal.detail)
            return
        if journal.state == PENDING:
            self.log.warning("%s for run %s, which has not started: ignored",
                             request.kind, request.run_id)  # fmt: skip
            return
        if journal.state in ENDED:
            self.log.info("%s for run %s, which is %s: nothing to do",
                          request.kind, request.run_id, journal.state)  # fmt: skip
            return
        run = Run(journal, store, ctx.partition, self.blobs(), self._requests)
        if request.kind == CANCEL:
            self.timers.cancel(run.id)
            await self.children.cancel_open(journal, run.position)
            await run.end(CANCELLED, "cancelled")
            return
        _keep_signal(journal, request)
        if journal.state == PARKED and request.kind != RESUME:
            if request.kind == SIGNAL:
                await run.save()  # kept for the resume
            self.log.warning("run %s is parked (%s)", run.id, journal.detail)
            return
        await self._execute(run, ctx, serde)

    async def _execute(self, run: Run, ctx: Context, serde: Serde) -> None:
        journal = run.journal
        writer = await serde.writer_async(journal.input_value)
        handler = self.agent.route(journal.topic, writer.fullname)
        if handler is None:
            await run.end(PARKED, f"no handler of {self.agent.name} takes {writer.fullname}")
            return
        event = serde.decode(journal.input_value, handler.event_type)
        journal.state = RUNNING  # its wake-up time and wait stay until it suspends again
        try:
            result = await handler.fn(event, DurableContext(ctx, self.agent.name, run))  # type: ignore[misc]
        except Suspended as suspended:
            journal.state = WAITING if suspended.waiting_for else SLEEPING
            journal.wake_at, journal.waiting_for = suspended.wake_at, suspended.waiting_for
            await run.save()
            if suspended.wake_at is not None:
                self.timers.schedule(run.id, run.partition, suspended.wake_at)
            return
        except DeterminismError as error:
            self.log.error("%s", error)
            await run.end(PARKED, str(error))
            return
        except Exception as error:
            final = isinstance(error, NonRetryableError) or ctx.attempt >= self.agent.retry.attempts
            if final:  # dead-lettered after this: the run failed for good
                await self.children.cancel_open(journal, run.position)
                await run.end(FAILED, f"{type(error).__name__}: {error}")
            raise
        ctx.caused_by(started_by(journal))  # not by the request that woke the run
        for deferred in run.deferred:
            await ctx.publish(deferred.topic, deferred.record, key=deferred.key,
                              multi_type=deferred.multi_type)  # fmt: skip
        for record in handler_records(handler, result):
            # (handler_records refused records for a handler without an output topic)
            await ctx.publish(handler.output, record, key=journal.input_key)  # type: ignore[arg-type]
        await self._complete(run, ctx)

    async def _complete(self, run: Run, ctx: Context) -> None:
        await self.children.cancel_open(run.journal, run.position)
        run.set_state(COMPLETED)
        if self.agent.exactly_once:  # in the transaction that commits the run's events
            await ctx.publish(journal_topic(self.agent.name), run.journal, key=run.id)
            self.store().remember(run.journal, run.partition)
        else:  # only once the events are out, so a crash before that replays the run
            await ctx.acknowledged()
            await run.save()


def new_journal(agent: str, request: RunRequest, pending: RunJournal | None) -> RunJournal:
    """The journal of a run its request starts; any other request makes it pending (kept
    for the start, e.g. a signal that overtook it)."""
    now = stamp()
    if request.kind != START:
        return RunJournal(run_id=request.run_id, agent=agent, state=PENDING, topic="", offset=-1,
                          started_at=now, updated_at=now)  # fmt: skip
    return RunJournal(
        run_id=request.run_id, agent=agent, state=RUNNING, topic=request.topic,
        partition=request.partition, offset=request.offset, input_key=request.key,
        input_value=request.value, input_headers=request.headers,
        signals=pending.signals if pending is not None else {}, started_at=now, updated_at=now,
    )  # fmt: skip


def started_by(journal: RunJournal) -> list[tuple[str, bytes]]:
    """The starting event's headers, stamped with the run: what the run's events link to.

    An event without `ce_id` (from a client other than hivebus) is named by the run id: the
    intake started the run under the id it gave the event (`topic/partition/offset`), so the
    run's events name the event itself as their cause (and, when it has no correlation, as
    their correlation), as an agent that is not durable names it, and not the position of
    the run request being handled, which only hivebus knows of."""
    started = journal.input_headers
    run = journal.run_id.encode()
    headers = [(name, value) for name, value in started.items() if name != "ce_runid"]
    if "ce_id" not in started:
        headers.append(("ce_id", run))
    return [*headers, ("ce_runid", run)]


def _keep_signal(journal: RunJournal, request: RunRequest) -> None:
    """A signal waits in the journal until a wait takes it (the first of a name is kept)."""
    if request.kind == SIGNAL and request.signal is not None:
        journal.signals.setdefault(request.signal, request.payload or b"null")
