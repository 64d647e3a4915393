"""The handler's view of the world: the event's metadata, publish, steps, the LLM, the read
models it declared, a logger."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from random import random as random_float
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID, uuid4

from hivebus.contracts import EventMeta, Record, parse_headers
from hivebus.contracts.headers import Headers
from hivebus.runtime.attempts import attempt
from hivebus.runtime.backoff import Retry
from hivebus.runtime.observe import observed_step
from hivebus.runtime.step_source import STEP_SOURCE
from hivebus.runtime.views import View, find

if TYPE_CHECKING:
    from hivebus.kafka.records import Consumed
    from hivebus.llm import LLM
    from hivebus.runtime.job import Job
    from hivebus.runtime.outbox import Outbox

T = TypeVar("T")


class Context:
    """One per handler attempt. Everything a handler author needs is a method here."""

    __slots__ = ("_job", "_llm_factory", "_meta", "_outbox", "_views", "agent", "attempt", "log")

    def __init__(  # positional: one is made per handler attempt, on the hot path
        self,
        agent: str,
        job: Job,
        attempt: int,
        outbox: Outbox,
        llm_factory: Callable[[], LLM],
        log: logging.Logger,
        views: Mapping[str, View],
        /,
    ) -> None:
        self.agent = agent
        self._job = job
        self.attempt = attempt
        self._outbox = outbox
        self._llm_factory = llm_factory
        self._meta: EventMeta | bool | None = False  # parsed on first use
        self.log = log
        self._views = views

    @property
    def topic(self) -> str:
        return self._job.message.topic()

    @property
    def partition(self) -> int:
        return self._job.message.partition()

    @property
    def offset(self) -> int:
        return self._job.message.offset()

    @property
    def key(self) -> str | None:
        """The input's key, decoded as UTF-8 (None for a record without a key)."""
        return self._job.key

    async def publish(
        self,
        topic: str,
        record: Record,
        *,
        key: str | bytes | None = None,
        multi_type: bool = False,
    ) -> None:
        """Publish an event caused by the one being handled (key defaults to the input's).

        The record is queued for the broker at once; the input is marked done only after the
        broker has acknowledged it. `multi_type` registers the contract as
        `<topic>-<record name>` (TopicRecordNameStrategy), for topics that carry several event
        types.
        """
        await self._outbox.emit(
            self._job, topic, record, self._job.raw_key if key is None else key, multi_type
        )

    def caused_by(self, headers: Headers) -> None:
        """Link the events published from here on to the event with these headers instead
        of the input (a durable run's results to the event that started the run)."""
        self._job.headers = headers
        self._meta = False

    async def acknowledged(self) -> None:
        """Wait until every event published for this input so far is acknowledged by the
        broker. In exactly-once mode they commit together with the input instead, so this
        returns at once."""
        await self._outbox.acknowledged(self._job)

    async def step(
        self,
        name: str,
        fn: Callable[..., Awaitable[T] | T],
        *args: Any,
        retry: Retry | None = None,
        returns: type[Any] | None = None,
    ) -> T:
        """Run one unit of work with side effects (an LLM call, a tool call), trying it up to
        `retry.attempts` times, and return its result.

        In a durable agent (`Agent(durable=True)`) the result is journaled under `name` and a
        replay returns it instead of running `fn` again (`returns` names its type, when it is
        a pydantic model the journal cannot tell from the value). Elsewhere nothing is kept:
        a retried or redelivered event runs its steps again. A replay may serve the step
        from the audit's record instead (`replay --tools record`; `returns` again names the
        type of the recorded result).
        """
        source = STEP_SOURCE.get()  # a replay's, when it serves steps from the record
        if source is not None:  # (its outcome is final: the record holds the retries)
            fn, retry = source.replace(name, fn, returns), None
        observer = self._job.observer  # the audit's, when the agent is audited
        if observer is not None:
            return await observed_step(observer, name, fn, args, retry)
        result, _ = await attempt(fn, args, retry)
        return result

    def view(self, name: str) -> View:
        """The read model `name`, declared in `Agent(..., views=[...])`, from this process's
        replica: `await view.get(key)`, `await view.query(sql, *params)`, `view.lag()`.
        In a durable run each read is journaled, so a replay sees the same answer. Raises
        `UndeclaredView` for a view the agent did not declare."""
        return find(self._views, name, self.agent)

    @property
    def llm(self) -> LLM:
        """The worker's LLM client (configured from the environment; offline without a key)."""
        return self._llm_factory()

    @property
    def meta(self) -> EventMeta | None:
        """The input's CloudEvents attributes (None for a record without `ce_id`)."""
        if self._meta is False:
            self._meta = parse_headers(self._job.headers)
        return self._meta  # type: ignore[return-value]

    @property
    def correlation_id(self) -> str:
        """The id shared by every event of one piece of work (the first event's id)."""
        return self._job.lineage()[1]

    @property
    def event_id(self) -> str:
        """The input's `ce_id`, or for an input without one its stable
        `<topic>/<partition>/<offset>`: the same for every delivery of the same record."""
        return self._job.lineage()[0]

    @property
    def message(self) -> Consumed:
        """The Kafka record being handled, as consumed: its value bytes, headers, key."""
        return self._job.message

    @property
    def generation(self) -> int:
        """Which assignment of its partition the input arrived under; it changes whenever
        the partition is assigned again, so state cached per partition knows to reload."""
        return self._job.assignment.generation

    async def now(self) -> datetime:
        """The current time (UTC). In a durable run it is journaled: a replay sees the same."""
        return datetime.now(UTC)

    async def uuid(self) -> UUID:
        """A random UUID. In a durable run it is journaled: a replay sees the same."""
        return uuid4()

    async def random(self) -> float:
        """A random float in [0, 1). In a durable run it is journaled: a replay sees the same."""
        return random_float()
