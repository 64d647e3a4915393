"""Unit-testing an agent: its handlers driven in-process, with no broker and no registry.

    async with AgentHarness(fraud, fast_retries=True) as h:
        result = await h.send("transactions.card", Transaction(...), key="acct-1")
        assert [p.topic for p in result.published] == ["transactions.flagged"]

Each `send` runs one record through the runtime's own `Executor`: decoding and routing, the
agent's middleware chain as `AgentRunner` builds it (dead-lettering, the agent's
`middleware=[...]`, retry with backoff, metrics, `handler_timeout_s`), the handler with a real
`Context`, then settling. Only the broker side is replaced: the record arrives as a
`SentMessage`, outputs and dead letters go to a `MemoryOutbox`, and schemas live in an
in-memory registry client (`mock://`), so values really are Avro in Confluent wire format.
Not modelled: partitions, lanes and `max_in_flight` (the dispatcher), commits, rebalances.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from types import TracebackType
from typing import cast

from confluent_kafka.schema_registry import SchemaRegistryClient
from prometheus_client import CollectorRegistry

from hivebus.contracts import HeaderBuilder, Record, Serde, lineage
from hivebus.errors import ConfigError
from hivebus.kafka.records import Headers
from hivebus.llm import LLM, LLMSettings
from hivebus.runtime import metrics
from hivebus.runtime.agent import Agent
from hivebus.runtime.assignment import Assignment
from hivebus.runtime.backoff import Retry
from hivebus.runtime.executor import Executor
from hivebus.runtime.job import Job, JobState
from hivebus.runtime.middleware import Call, Middleware, Next
from hivebus.runtime.middlewares.standard import standard_chain
from hivebus.runtime.offsets import PartitionOffsets
from hivebus.runtime.outbox import Outbox
from hivebus.testing.memory import DeadLetter, MemoryOutbox, Published, SentMessage

__all__ = ["AgentHarness", "DeadLetter", "NotSubscribed", "Published", "SendResult"]

SOURCE = "hivebus://testing/harness"  # ce_source of the events a harness sends
MOCK_REGISTRY = "mock://hivebus-testing"
InputHeaders = Mapping[str, str | bytes] | Sequence[tuple[str, bytes]]


class NotSubscribed(LookupError):
    """The topic matches none of the agent's subscriptions: it would never see the record."""


@dataclass(frozen=True)
class SendResult:
    """What became of one sent record."""

    topic: str
    key: str | None
    event: Record
    event_id: str | None  # the input's ce_id: the causation id of every output
    state: JobState  # DONE, DEAD_LETTERED or CANCELLED
    handler: str | None  # the handler that ran; None when the record was skipped
    attempts: int  # handler attempts; 0 when skipped
    published: list[Published]  # every output, failed attempts' included, as in Kafka
    dead_letter: DeadLetter | None

    @property
    def skipped(self) -> bool:
        """True when no handler takes this event type on this topic (the runtime ignores it)."""
        return self.handler is None and self.dead_letter is None

    @property
    def records(self) -> list[Record]:
        return [published.record for published in self.published]


class AgentHarness:
    """Drive one agent's handlers with typed events; collect what they publish.

    `fast_retries` keeps the agent's `Retry.attempts` but waits 0 s between attempts (the chain
    then sees a copy of the agent with that `Retry`). `round_trip` (on by default) encodes
    every output with its contract and reads it back, so a record the wire would refuse fails
    the attempt as in production; `published` then holds what a consumer would decode. `llm`
    is what `ctx.llm` uses; by default the offline provider, with metrics in a registry of its
    own.
    """

    def __init__(
        self,
        agent: Agent,
        *,
        llm: LLM | None = None,
        fast_retries: bool = False,
        round_trip: bool = True,
    ) -> None:
        if not agent.handlers:
            raise ConfigError(f"agent {agent.name!r} has no handlers: declare one with @agent.on")
        self.agent = agent
        self._chain_agent = (
            replace(agent, retry=_no_backoff(agent.retry)) if fast_retries else agent
        )
        self.serde = Serde(SchemaRegistryClient.new_client({"url": MOCK_REGISTRY}))
        self.outbox = MemoryOutbox(agent.name, serde=self.serde if round_trip else None)
        self.stats = metrics.AgentStats(agent.name)
        self.log = logging.getLogger(f"hivebus.agent.{agent.name}")
        self.results: list[SendResult] = []
        self._owns_llm = llm is None
        self._llm = llm if llm is not None else _offline()
        self._agent_llm: LLM | None = None
        self._headers = HeaderBuilder(SOURCE)
        self._assignments: dict[str, Assignment] = {}
        self._offsets: dict[str, int] = {}
        self._calls: dict[Job, Call] = {}
        self._ended: dict[Job, asyncio.Future[None]] = {}
        self._executor: Executor | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def __aenter__(self) -> AgentHarness:
        self._started()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the LLM client if the harness made it."""
        if self._owns_llm:
            await self._llm.aclose()

    @property
    def published(self) -> list[Published]:
        """Every output so far, across sends, in the order they were published."""
        return self.outbox.published

    @property
    def dead_letters(self) -> list[DeadLetter]:
        return self.outbox.dead_letters

    @property
    def llm(self) -> LLM:
        """The client behind `ctx.llm` (its `usage` totals every call the handlers made)."""
        return self._llm

    async def send(
        self,
        topic: str,
        event: Record,
        *,
        key: str | None = None,
        headers: InputHeaders | None = None,
    ) -> SendResult:
        """Deliver `event` on `topic` and wait until the record is done, dead-lettered or
        cancelled. Without `headers` it carries fresh CloudEvents headers, as a `Publisher`
        writes them; given `headers` are used as they are."""
        if not isinstance(event, Record):
            raise TypeError(f"send takes a Record, not {type(event).__name__}")
        if not any(handler.matches(topic) for handler in self.agent.handlers):
            subscribed = ", ".join(self.agent.subscriptions)
            raise NotSubscribed(
                f"agent {self.agent.name} does not subscribe to {topic}: {subscribed}"
            )
        executor = self._started()
        value = self.serde.encoder(topic, type(event)).encode(event)
        raw = self._input_headers(event, headers)
        offset = self._offsets[topic] = self._offsets.get(topic, -1) + 1
        job = Job(SentMessage(topic, 0, offset, key, value, raw, event), self._assignment(topic))
        ended = self._ended[job] = asyncio.get_running_loop().create_future()
        try:
            executor.start(job)
            await ended
        except asyncio.CancelledError:
            executor.cancel(job)
            raise
        finally:
            self._ended.pop(job, None)
            call = self._calls.pop(job, None)
            published, dead_letter = self.outbox.take(job)
        result = SendResult(
            topic, job.key, event, lineage(raw)[0], job.state,
            _name(call.handler.fn) if call is not None else None,
            call.attempt if call is not None else 0,
            published, dead_letter,
        )  # fmt: skip
        self.results.append(result)
        return result

    def _started(self) -> Executor:
        """The executor, made in the running loop (it starts jobs there)."""
        loop = asyncio.get_running_loop()
        if self._executor is None or self._loop is not loop:
            self._loop = loop
            self._executor = Executor(
                self._chain_agent,
                serde=self.serde,
                outbox=cast(Outbox, self.outbox),  # the same methods, kept in memory
                middlewares=self._middlewares(),
                llm_factory=self._llm_for_agent,
                released=_nothing,
                ended=self._job_ended,
                log=self.log,
            )
        return self._executor

    def _middlewares(self) -> list[Middleware]:
        """The runner's chain (`standard_chain`), inside an observer that only reads."""
        return [
            self._observe,
            *standard_chain(self._chain_agent, cast(Outbox, self.outbox), self.stats, self.log),
        ]

    async def _observe(self, call: Call, call_next: Next) -> None:
        """Note the call: afterwards it says which handler ran and how many attempts."""
        self._calls[call.job] = call
        await call_next(call)

    def _job_ended(self, job: Job, complete: bool) -> None:
        ended = self._ended.get(job)
        if ended is not None and not ended.done():
            ended.set_result(None)

    def _llm_for_agent(self) -> LLM:
        if self._agent_llm is None:
            self._agent_llm = self._llm.for_agent(self.agent.name)
        return self._agent_llm

    def _assignment(self, topic: str) -> Assignment:
        assignment = self._assignments.get(topic)
        if assignment is None:
            assignment = self._assignments[topic] = Assignment((topic, 0), PartitionOffsets())
        return assignment

    def _input_headers(self, event: Record, headers: InputHeaders | None) -> Headers:
        if headers is None:
            built, _ = self._headers.build(event.fullname)
            return built
        pairs = headers.items() if isinstance(headers, Mapping) else headers
        return [(name, v.encode() if isinstance(v, str) else v) for name, v in pairs]


def _offline() -> LLM:
    """The offline provider, its metrics in a registry of its own (not the process's)."""
    return LLM.from_settings(LLMSettings(provider="offline"), registry=CollectorRegistry())


def _name(fn: object) -> str:
    return str(getattr(fn, "__name__", fn))


def _no_backoff(retry: Retry) -> Retry:
    return Retry(attempts=retry.attempts, backoff_s=0.0, max_backoff_s=0.0)


def _nothing(job: Job) -> None:
    """The executor's `released`: there are no lanes or slots to free in the harness."""
