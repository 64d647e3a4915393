"""Executing run requests: the handler of a durable agent's run agent.

For each request it restores the run's journal (once per assignment of its partition),
decodes the starting event, and calls the agent's own handler with a `DurableContext` that
replays what is recorded. A completed run asked again (a redelivered request) replays to its
end and publishes its results again, which exactly-once mode commits only once; a parked run
waits for a resume; a run whose last attempt fails is marked failed before the request goes
to the dead-letter topic.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from hivebus.contracts import Record, Serde, registry_client
from hivebus.durable.context import DurableContext
from hivebus.durable.errors import DeterminismError
from hivebus.durable.journal import JournalStore
from hivebus.durable.records import RunJournal, RunRequest
from hivebus.durable.run import COMPLETED, FAILED, PARKED, RUNNING, Run, stamp
from hivebus.durable.topics import journal_topic
from hivebus.kafka.config import producer_config
from hivebus.kafka.producer import AsyncProducer
from hivebus.runtime import Agent, Context

RESUME = "resume"


class Runs:
    """The runs of one durable agent in this worker."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self._store: JournalStore | None = None
        self._serde: Serde | None = None

    def _open(self, ctx: Context) -> tuple[JournalStore, Serde]:
        """The journal store and serde, made on first use on the worker's loop."""
        if self._store is None or self._serde is None:
            self._serde = Serde(registry_client())
            producer = AsyncProducer(
                producer_config(f"hivebus-journal-{self.agent.name}"),
                asyncio.get_running_loop(),
            )
            self._store = JournalStore(
                journal_topic(self.agent.name), serde=self._serde, producer=producer, log=ctx.log
            )
        return self._store, self._serde

    async def handle(self, request: RunRequest, ctx: Context) -> None:
        store, serde = self._open(ctx)
        journal = await store.get(request.run_id, ctx.partition, ctx.generation)
        if journal is None:
            now = stamp()
            journal = RunJournal(
                run_id=request.run_id, agent=self.agent.name, state=RUNNING, topic=request.topic,
                offset=request.offset, started_at=now, updated_at=now,
            )  # fmt: skip
        elif journal.state == PARKED and request.kind != RESUME:
            ctx.log.warning("run %s is parked (%s): not run again", request.run_id, journal.detail)
            return
        writer = await serde.writer_async(request.value)
        handler = self.agent.route(request.topic, writer.fullname)
        if handler is None:
            ctx.log.warning("run %s: no handler of %s takes %s any more",
                            request.run_id, self.agent.name, writer.fullname)  # fmt: skip
            return
        event = serde.decode(request.value, handler.event_type)
        run = Run(request, journal, store, ctx.partition)
        journal.state = RUNNING
        try:
            result = await handler.fn(event, DurableContext(ctx, self.agent.name, run))  # type: ignore[misc]
        except DeterminismError as error:
            ctx.log.error("%s", error)
            await run.end(PARKED, str(error))
            return
        except Exception as error:
            if ctx.attempt >= self.agent.retry.attempts:
                await run.end(FAILED, f"{type(error).__name__}: {error}")
            raise
        for record in _records(result):
            if handler.output is None:
                raise TypeError(f"handler {handler.fn.__name__} returned events but has no output")
            await ctx.publish(handler.output, record, key=request.key)
        await run.end(COMPLETED)


def _records(result: object) -> Sequence[Record]:
    if result is None:
        return []
    return [result] if isinstance(result, Record) else list(result)  # type: ignore[call-overload]
