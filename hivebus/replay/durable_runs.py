"""A durable agent in a replay: each run executed at once, its journal kept in memory.

Live, a durable agent is two agents (durable/expand.py): the intake turns each event into a
start request on `hivebus.runs.<agent>`, and the run agent journals every step on
`hivebus.journal.<agent>`. A replay must write to neither, and needs no journal that
outlives it (a replay that stops is run again from the start). So here one agent, under the
agent's name, starts the run of each event in the handling of that event, with a journal
and blobs in memory, and executes it with the same `DurableContext` the run agent uses:
steps run (or come from the record, with `--tools record`), and the run's events and
results are published when it completes, caused by the event that started it, as live. A
durable sleep of at most `MAX_SLEEP_S` is slept, as a worker's timer would wake the run; a
run that waits for a signal gets the ones its live run was sent (`signals`, signals.py), in
their order, each as it waits for it, as a live signal wakes the run. A run that waits for a
signal its live run never got, or would sleep longer, is `suspended`: what it would publish
later is reported missing.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime
from typing import Any

from hivebus.durable.context import DurableContext
from hivebus.durable.errors import DeterminismError
from hivebus.durable.expand import check_durable, start_request
from hivebus.durable.records import RunJournal
from hivebus.durable.run import (
    COMPLETED,
    PARKED,
    RUNNING,
    SLEEPING,
    WAITING,
    Run,
    Suspended,
)
from hivebus.durable.runs import new_journal, started_by
from hivebus.errors import ConfigError
from hivebus.replay.signals import Signals
from hivebus.runtime import Agent, Context
from hivebus.runtime.agent import Handler
from hivebus.runtime.executor import handler_records
from hivebus.runtime.middlewares.dead_letters import NonRetryableError

MAX_SLEEP_S = 5.0
# What became of an input whose run did not complete, besides the runtime's outcomes (a run
# parked by a `DeterminismError` has the journal's own state name, PARKED).
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
    """The agent that replays a durable agent's runs, and the inputs whose run did not
    complete (`outcomes`: suspended, or parked by a `DeterminismError`)."""

    def __init__(self, agent: Agent) -> None:
        check_durable(agent)
        if agent.calls:
            raise ConfigError(
                f"agent {agent.name} calls other agents (Agent.calls): a replay cannot run "
                "its callees in the shadow, so replaying it is not supported"
            )
        self.durable = agent
        self.outcomes: dict[Where, str] = {}
        self.signals: Signals = {}  # what the live runs were sent, taken as they are delivered
        # A run's journal across the attempts of its handling: a retry replays what an
        # earlier attempt finished, as a live retry does from the journal topic.
        self._runs: dict[Where, tuple[RunJournal, MemoryBlobs]] = {}
        # No handler time limit on the handling: each execution of a run has its own, as live.
        self.agent = Agent(
            agent.name, version=agent.version, description=agent.description,
            max_in_flight=agent.max_in_flight, ordering=agent.ordering, retry=agent.retry,
            middleware=agent.middleware, views=agent.views, topics=agent.topics,
            publishes=agent.outputs,
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
        try:
            await self._execute(handler, event, ctx, where, *known)
        except BaseException as error:
            if _final(error, ctx.attempt, self.durable.retry.attempts):
                del self._runs[where]  # (a retry finds its journal)
            raise
        del self._runs[where]

    async def _execute(
        self, handler: Handler, event: Any, ctx: Context, where: Where, journal: RunJournal,
        blobs: MemoryBlobs,
    ) -> None:  # fmt: skip
        limit = self.durable.handler_timeout_s
        while True:  # each execution of the run: its start, then each wake-up
            run = Run(journal, MemoryJournal(), ctx.partition, blobs)
            journal.state = RUNNING
            try:
                async with asyncio.timeout(limit):
                    result = await handler.fn(event, DurableContext(ctx, self.durable.name, run))  # type: ignore[misc]
                break
            except Suspended as suspended:
                journal.state = WAITING if suspended.waiting_for else SLEEPING
                journal.wake_at, journal.waiting_for = suspended.wake_at, suspended.waiting_for
                if suspended.waiting_for is not None and self._deliver(journal):
                    continue  # the signal wakes the run, as live
                delay = _sleep_s(suspended)
                if delay is None:
                    self.outcomes[where] = SUSPENDED
                    return
                await asyncio.sleep(delay)  # then the run goes on, as when a timer wakes it
            except DeterminismError as error:
                ctx.log.error("%s", error)
                run.set_state(PARKED, str(error))
                self.outcomes[where] = PARKED
                return
        ctx.caused_by(started_by(journal))
        for deferred in run.deferred:
            await ctx.publish(deferred.topic, deferred.record, key=deferred.key,
                              multi_type=deferred.multi_type)  # fmt: skip
        for record in handler_records(handler, result):
            await ctx.publish(handler.output, record, key=journal.input_key)  # type: ignore[arg-type]
        run.set_state(COMPLETED)

    def _deliver(self, journal: RunJournal) -> bool:
        """Hand the waiting run the next signal of the name it waits for that its live run
        was sent, as the run agent keeps a signal for its run; False when there is none."""
        name = (journal.waiting_for or "").rpartition("@")[0]
        payloads = self.signals.get(journal.run_id, {}).get(name)
        if not payloads:
            return False
        journal.signals[name] = payloads.pop(0)
        return True


def _final(error: BaseException, attempt: int, attempts: int) -> bool:
    """Whether the handling will not be tried again after `error`."""
    if not isinstance(error, Exception):  # cancelled, or the process is going
        return True
    return isinstance(error, NonRetryableError) or attempt >= attempts


def _sleep_s(suspended: Suspended) -> float | None:
    """How long to sleep before the run goes on; None when it waits for a signal or would
    sleep longer than `MAX_SLEEP_S`."""
    if suspended.waiting_for is not None or suspended.wake_at is None:
        return None
    wake_at = datetime.fromisoformat(suspended.wake_at.replace("Z", "+00:00"))
    delay = (wake_at - datetime.now(UTC)).total_seconds()
    return max(delay, 0.0) if delay <= MAX_SLEEP_S else None
