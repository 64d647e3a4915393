"""`Audit`: the middleware that records every decision of an agent on `hivebus.audit`.

    fraud = Agent("fraud-detector", middleware=[Audit()])            # every event
    chat = Agent("support", middleware=[Audit(sample=0.1)])          # one causal tree in ten

It is `outermost`: it wraps dead-lettering, so it sees what finally became of each record.
While the handler runs it is the runtime's observer (outputs, steps, a durable run, a dead
letter) and the LLM layer's listener (each call); once the handling is over it writes what it
saw through the agent's outbox (writer.py, batches.py). A durable agent's runs are audited
too: the run agent the worker makes for it takes the agent's middleware.

A plain `def` handler that finishes at once is audited with no coroutine and no task, as
the standard middlewares keep it; anything that waits runs as the task the executor makes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Mapping
from dataclasses import replace
from sys import getrefcount
from time import perf_counter
from weakref import WeakKeyDictionary

from prometheus_client import Counter

from hivebus.audit.prices import Price, Prices
from hivebus.audit.sampling import kept
from hivebus.audit.settings import AuditSettings, check_sample
from hivebus.audit.trail import Trail
from hivebus.audit.writer import Options, Writer
from hivebus.durable.records import RunRequest
from hivebus.kafka.admin import TopicSpec
from hivebus.llm import watch
from hivebus.runtime.middleware import DONE, Call, Next
from hivebus.runtime.outbox import Fenced, Outbox

log = logging.getLogger("hivebus.audit")
PREPARE_S = 15.0
_UNSHARED = 2  # `getrefcount` of a trail only `__call__` holds (its local and the argument)
FAILURES = Counter(
    "hivebus_audit_failures", "Handlings whose audit could not be written", ["agent"]
)


class Audit:
    """Record each decision of the agent, its steps and its LLM calls on the audit topic.

    `sample`: the fraction of causal trees audited, chosen by correlation id (the same choice
    in every agent, so a tree is kept or dropped whole); `HIVEBUS_AUDIT_SAMPLE` overrides it.
    `payloads`: also keep each input and output as JSON, sensitive fields redacted (by
    default they are kept by reference: topic, partition, offset, ce_id). `content`: keep LLM
    prompts and replies (by reference, in the blob topic). `prices`: model -> (per million
    prompt tokens, per million completion tokens), for the cost of each call. `topic`: the
    audit topic, else `HIVEBUS_AUDIT_TOPIC` or `hivebus.audit`.
    """

    outermost = True  # wraps dead-lettering (see runtime/middlewares/standard.py)

    def __init__(
        self,
        sample: float = 1.0,
        *,
        payloads: bool = False,
        content: bool = True,
        prices: Mapping[str, Price] | None = None,
        topic: str | None = None,
    ) -> None:
        self.sample = check_sample(sample)
        self.payloads = payloads
        self.content = content
        self._prices = dict(prices or {})
        self._topic = topic
        self._bound: tuple[object, Writer | None] | None = None  # the last one used
        self._writers: WeakKeyDictionary[object, Writer | None] = WeakKeyDictionary()

    def settings(self) -> AuditSettings:
        """The settings in force now (the environment, and this audit's own topic)."""
        settings = AuditSettings.from_env()
        return replace(settings, topic=self._topic) if self._topic else settings

    @property
    def topics(self) -> list[TopicSpec]:
        """What the worker creates before the agent starts: the audit and blob topics."""
        return self.settings().topic_specs()

    async def prepare(self, outbox: Outbox) -> None:
        """Before the agent consumes (the runner calls it): the audit's schemas registered,
        the topic's partitions known, so no record waits for them."""
        writer = self._writer(outbox, outbox.agent)
        if writer is None:
            return
        if writer.write_dead_letter not in outbox.dead_letter_listeners:  # what no trail saw
            outbox.dead_letter_listeners.append(writer.write_dead_letter)
        try:  # a registry that is down delays the audit, not the agent's start
            await asyncio.wait_for(asyncio.shield(writer.prepare()), PREPARE_S)
        except TimeoutError:
            log.warning("agent %s: the audit is not ready yet; its first records wait for it",
                        outbox.agent)  # fmt: skip

    def __call__(self, call: Call, call_next: Next) -> Awaitable[None]:
        bound = self._bound
        writer = bound[1] if bound is not None and bound[0] is call.outbox else self._bind(call)
        if writer is None:
            return call_next(call)
        columns = writer.fast
        if columns is None or call.handler.is_async:
            return self._audit(writer, call, call_next)
        # The commonest handling, kept short: a plain `def`, every record audited.
        lineage = call.job.raw_lineage()
        trail = writer.spare
        if trail is None:
            trail = Trail(call, lineage)
        else:  # the last plain handling's: nothing else held it (see below)
            writer.spare = None
            trail.call, trail.lineage, trail.clock = call, lineage, perf_counter()
        job = call.job
        before, job.observer = job.observer, trail
        try:
            handled = call_next(call)
        finally:
            job.observer = before
        if handled is not DONE:
            return self._finish(writer, trail, handled)
        if trail.journal is None and not trail.seen and not job.dead:
            trail.ended = perf_counter()
            try:
                columns.add_plain(trail, call, job)
            except Fenced:
                raise
            except Exception:
                _failed(call)
                return DONE
            if getrefcount(trail) <= _UNSHARED:  # nothing the handler made holds it, to tell
                trail.outputs.clear()  # it later what it does: used again
                writer.spare = trail
            return DONE
        self._write_now(writer, trail)
        return DONE

    def _audit(self, writer: Writer, call: Call, call_next: Next) -> Awaitable[None]:
        """Any handling: sampled, `async def`, or before the writer is ready."""
        lineage = call.job.raw_lineage()
        sample = writer.sample
        if sample < 1.0 and (
            sample <= 0.0
            or (not isinstance(call.event, RunRequest) and not kept(lineage[1], sample))
        ):  # (a run's tree is known only once its journal is: sampled when written)
            return call_next(call)
        trail = Trail(call, lineage)
        if call.handler.is_async:
            return self._audited(writer, trail, call_next)
        job = call.job
        before, job.observer = job.observer, trail
        try:
            handled = call_next(call)
        finally:
            job.observer = before
        if handled is DONE and writer.ready:
            self._write_now(writer, trail)
            return DONE
        return self._finish(writer, trail, handled)

    def _write_now(self, writer: Writer, trail: Trail) -> None:
        try:
            writer.write(trail)
        except Fenced:
            raise
        except Exception:
            _failed(trail.call)

    async def _audited(self, writer: Writer, trail: Trail, call_next: Next) -> None:
        job = trail.call.job
        before, job.observer = job.observer, trail
        try:
            with watch.listening(trail.llm_call):
                await call_next(trail.call)
        finally:
            job.observer = before
        await self._write(writer, trail)

    async def _finish(self, writer: Writer, trail: Trail, handled: Awaitable[None]) -> None:
        if handled is not DONE:
            job = trail.call.job
            before, job.observer = job.observer, trail
            try:
                await handled
            finally:
                job.observer = before
        await self._write(writer, trail)

    async def _write(self, writer: Writer, trail: Trail) -> None:
        try:
            await writer.write_async(trail)
        except Fenced:
            raise
        except Exception:
            _failed(trail.call)

    def _bind(self, call: Call) -> Writer | None:
        return self._writer(call.outbox, call.agent.name)

    def _writer(self, outbox: Outbox | None, agent: str) -> Writer | None:
        """The writer for `outbox` (one per agent per worker), made once."""
        if outbox is not None and outbox in self._writers:
            writer = self._writers[outbox]
            self._bound = (outbox, writer)
            return writer
        serde = getattr(outbox, "serde", None)
        if outbox is None or serde is None:
            log.warning("agent %s: no outbox with a registry to audit through; not audited",
                        agent)  # fmt: skip
            writer = None
        else:
            settings = self.settings()
            options = Options(
                sample=settings.sample if settings.sample is not None else self.sample,
                payloads=self.payloads, content=self.content,
                prices=Prices.from_env(self._prices), settings=settings,
            )  # fmt: skip
            writer = Writer(outbox, serde, options)
        if outbox is not None:
            self._writers[outbox] = writer
        self._bound = (outbox, writer)
        return writer


def _failed(call: Call) -> None:
    """An audit that cannot be built is a bug to see, not a reason to fail the record."""
    log.exception("the audit of %s by %s could not be written", call.job.where, call.agent.name)
    FAILURES.labels(call.agent.name).inc()
