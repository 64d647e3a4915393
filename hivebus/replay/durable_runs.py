"""A durable agent in a replay: each run executed at once, its journal kept in memory.

Live, a durable agent is two agents (durable/expand.py): the intake turns each event into a
start request on `hivebus.runs.<agent>`, and the run agent journals every step on
`hivebus.journal.<agent>`. A replay must leave both alone, and needs no journal that
outlives it (a replay that stops is run again from the start). So here one agent, under the
agent's name, starts the run of each event in the handling of that event, with a journal
and blobs in memory, and executes it with the same `DurableContext` the run agent uses:
steps run (or come from the record, with `--tools record`), and the run's events and
results are published when it completes, caused by the event that started it, as live. A
durable sleep of at most `MAX_SLEEP_S` is slept, as a worker's timer would wake the run; a
run that waits for a signal, or would sleep longer, is `suspended`: what it would publish
later is reported missing.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime
from typing import Any

from hivebus.durable.context import DurableContext
from hivebus.durable.expand import start_request
from hivebus.durable.records import RunJournal
from hivebus.durable.run import Run, Suspended
from hivebus.durable.runs import new_journal, started_by
from hivebus.errors import ConfigError
from hivebus.runtime import Agent, Context
from hivebus.runtime.agent import Handler
from hivebus.runtime.executor import handler_records

MAX_SLEEP_S = 5.0
SUSPENDED = "suspended"
Where = tuple[str, int, int]  # topic, partition, offset of the input


class MemoryJournal:
    """A run's journal, never written anywhere: it lives as long as the run's handling."""

    async def write(self, journal: RunJournal, partition: int) -> None:
        return None


class MemoryBlobs:
    """Large step results of a replayed run, by reference, in memory."""

    def __init__(self) -> None:
        self._held: dict[bytes, bytes] = {}

    async def put(self, run_id: str, seq: int, data: bytes, partition: int) -> bytes:
        ref = f"memory:{run_id}:{seq}:{hashlib.sha256(data).hexdigest()}".encode()
        self._held[ref] = data
        return ref

    async def get(self, ref: bytes) -> bytes:
        return self._held[ref]


class ReplayedRuns:
    """The agent that replays a durable agent's runs, and which inputs' runs suspended."""

    def __init__(self, agent: Agent) -> None:
        if agent.calls:
            raise ConfigError(
                f"agent {agent.name} calls other agents (Agent.calls): a replay cannot run "
                "its callees in the shadow, so replaying it is not supported"
            )
        self.durable = agent
        self.suspended: dict[Where, str] = {}  # input -> why its run did not complete
        # A run's journal across the attempts of its handling: a retry replays what an
        # earlier attempt finished, as a live retry does from the journal topic.
        self._runs: dict[Where, tuple[RunJournal, MemoryBlobs]] = {}
        self.agent = Agent(
            agent.name, version=agent.version, description=agent.description,
            max_in_flight=agent.max_in_flight, ordering=agent.ordering, retry=agent.retry,
            handler_timeout_s=agent.handler_timeout_s, middleware=agent.middleware,
            views=agent.views, topics=agent.topics, publishes=agent.outputs,
        )  # fmt: skip
        for handler in agent.handlers:
            self.agent.on(handler.topic, handler.event_type)(self._runner(handler))

    def _runner(self, handler: Handler) -> Any:
        async def run(event: Any, ctx: Context) -> None:
            await self._run(handler, event, ctx)

        return run

    async def _run(self, handler: Handler, event: Any, ctx: Context) -> None:
        message = ctx.message
        where = (message.topic(), message.partition(), message.offset())
        known = self._runs.get(where)
        if known is None:
            request = start_request(ctx.event_id, message)
            known = self._runs[where] = new_journal(self.durable.name, request, None), MemoryBlobs()
        journal, blobs = known
        while True:
            run = Run(journal, MemoryJournal(), ctx.partition, blobs)
            try:
                result = await handler.fn(event, DurableContext(ctx, self.durable.name, run))  # type: ignore[misc]
                break
            except Suspended as suspended:
                delay = _sleep_s(suspended)
                if delay is None:
                    self.suspended[where] = str(suspended)
                    del self._runs[where]
                    return
                await asyncio.sleep(delay)  # then the run goes on, as when a timer wakes it
        del self._runs[where]
        ctx.caused_by(started_by(journal))
        for deferred in run.deferred:
            await ctx.publish(deferred.topic, deferred.record, key=deferred.key,
                              multi_type=deferred.multi_type)  # fmt: skip
        for record in handler_records(handler, result):
            await ctx.publish(handler.output, record, key=journal.input_key)  # type: ignore[arg-type]


def _sleep_s(suspended: Suspended) -> float | None:
    """How long to sleep before the run goes on; None when it waits for a signal or would
    sleep longer than `MAX_SLEEP_S`."""
    if suspended.waiting_for is not None or suspended.wake_at is None:
        return None
    wake_at = datetime.fromisoformat(suspended.wake_at.replace("Z", "+00:00"))
    delay = (wake_at - datetime.now(UTC)).total_seconds()
    return max(delay, 0.0) if delay <= MAX_SLEEP_S else None
