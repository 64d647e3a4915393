"""The handler's view of the world: the event's metadata, publish, steps, the LLM, a logger."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from hivebus.contracts import EventMeta, Record, lineage, parse_headers
from hivebus.contracts.headers import RawHeaders

if TYPE_CHECKING:
    from hivebus.llm import LLM

T = TypeVar("T")


class Outputs(Protocol):
    """Where a handler's published records go: the runtime tracks their acknowledgements."""

    async def publish(
        self, topic: str, record: Record, *, key: str | None, ctx: Context, multi_type: bool
    ) -> None: ...


class Context:
    """One per handler attempt. Everything a handler author needs is a method here."""

    __slots__ = (
        "_headers",
        "_llm_factory",
        "_meta",
        "_outputs",
        "agent",
        "attempt",
        "key",
        "log",
        "offset",
        "partition",
        "topic",
    )

    def __init__(  # positional: one is made per handler attempt, on the hot path
        self,
        agent: str,
        topic: str,
        partition: int,
        offset: int,
        key: str | None,
        headers: RawHeaders | None,
        attempt: int,
        outputs: Outputs,
        llm_factory: Callable[[], LLM],
        log: logging.Logger,
        /,
    ) -> None:
        self.agent = agent
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self._headers = headers
        self._meta: EventMeta | bool | None = False  # parsed on first use
        self.attempt = attempt
        self._outputs = outputs
        self._llm_factory = llm_factory
        self.log = log

    async def publish(
        self, topic: str, record: Record, *, key: str | None = None, multi_type: bool = False
    ) -> None:
        """Publish an event caused by the one being handled (key defaults to the input's).

        The input is marked done only after the broker has acknowledged this record.
        `multi_type` registers the contract as `<topic>-<record name>` (TopicRecordNameStrategy),
        for topics that carry several event types.
        """
        key = self.key if key is None else key
        await self._outputs.publish(topic, record, key=key, ctx=self, multi_type=multi_type)

    async def step(self, name: str, fn: Callable[..., Awaitable[T] | T], *args: Any) -> T:
        """Run one unit of work with side effects (an LLM call, a tool call).

        In a durable agent the result is journaled and a replay returns it without running
        `fn` again; in a plain agent the step simply runs.
        """
        result = fn(*args)
        if inspect.isawaitable(result):
            return await result
        return result

    @property
    def llm(self) -> LLM:
        """The worker's LLM client (configured from the environment; offline without a key)."""
        return self._llm_factory()

    @property
    def meta(self) -> EventMeta | None:
        """The input's CloudEvents attributes (None for a record without `ce_id`)."""
        if self._meta is False:
            self._meta = parse_headers(self._headers)
        return self._meta  # type: ignore[return-value]

    @property
    def correlation_id(self) -> str | None:
        """The id shared by every event of one piece of work (the first event's id)."""
        event_id, correlation_id, _ = lineage(self._headers)
        return correlation_id or event_id
