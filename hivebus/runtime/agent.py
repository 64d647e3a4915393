"""Declaring an agent: a name (its consumer group), its subscriptions and their handlers.

A subscription is an exact topic name or a regular expression over topic names (Kafka's own
convention: anchored, so `transactions\\..*` matches `transactions.card`). A handler names the
event type it handles; records of other types on a subscribed topic are skipped, which is how
an agent can subscribe to `transactions.*` and also publish to `transactions.flagged`.
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from hivebus.contracts import Record
from hivebus.errors import ConfigError
from hivebus.kafka.admin import TopicSpec
from hivebus.runtime.backoff import Retry
from hivebus.runtime.scheduler import Ordering
from hivebus.runtime.views import ViewReplica, declared

if TYPE_CHECKING:
    from hivebus.runtime.context import Context

E = TypeVar("E", bound=Record)
HandlerResult = Record | Sequence[Record] | None
C = TypeVar("C", bound="Context")  # a capability's own Context (DurableContext, say)
HandlerFn = Callable[[E, C], Awaitable[HandlerResult] | HandlerResult]

GUARANTEES = ("at_least_once", "exactly_once")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")
_REGEX_CHARS = set("*?[]^$+(){}|\\")


HeldPartition = tuple[str, int, int]  # topic, partition, generation (see assignment.py)


class PartitionHooks(Protocol):
    """What a capability that keeps state per partition (durable runs' timers) is told:
    called on the event loop; quick, and never raising."""

    def assigned(self, partitions: list[HeldPartition]) -> None: ...

    def revoked(self, partitions: list[HeldPartition]) -> None: ...


@dataclass(frozen=True)
class Handler:
    topic: str  # exact name or pattern, as the user wrote it
    event_type: type[Record]
    fn: HandlerFn[Any, Any]
    output: str | None
    pattern: re.Pattern[str] | None
    is_async: bool = True
    output_multi_type: bool = False
    # The contracts the handler's return annotation names (`-> Flagged | None`): their
    # encoders are prepared when the agent starts, so no early record waits on the registry.
    output_types: tuple[type[Record], ...] = ()

    def matches(self, topic: str) -> bool:
        if self.pattern is None:
            return topic == self.topic
        return self.pattern.fullmatch(topic) is not None

    @property
    def subscription(self) -> str:
        """The string given to librdkafka: patterns start with `^`."""
        return self.topic if self.pattern is None else f"^{self.pattern.pattern}$"


@dataclass
class Agent:
    """A named unit of behaviour; the name is its consumer group id and identity everywhere."""

    name: str
    version: str = "0"
    description: str = ""
    max_in_flight: int = 64
    ordering: Ordering | str = Ordering.KEY
    retry: Retry = field(default_factory=Retry)
    handler_timeout_s: float | None = None
    # "at_least_once" (outputs produced at once, offsets committed after their acks) or
    # "exactly_once" (outputs and offsets committed together in Kafka transactions).
    guarantee: str = "at_least_once"
    consumer_config: dict[str, Any] = field(default_factory=dict)
    # Each handled event starts a run: steps journaled in Kafka, replayed after a crash
    # (hivebus.durable; handlers must be `async def`).
    durable: bool = False
    # The agents a durable agent's runs call with `ctx.call` (`hivebus.durable.Callee`s): the
    # worker reads their reply topics and routes each reply back to its run.
    calls: list[Any] = field(default_factory=list)
    # The read models its handlers read with `ctx.view(name)` (a `hivebus.patterns.ReadModel`,
    # say): started with the agent, closed with it (see runtime/views.py).
    views: list[ViewReplica] = field(default_factory=list)
    # Topics the worker creates (if missing) before the agent starts: system topics of the
    # capabilities an agent uses, or its own outputs.
    topics: list[TopicSpec] = field(default_factory=list)
    # Topics its handlers publish to with `ctx.publish`, beyond each handler's `output`: so
    # the directory, `hivebus topology plan` and the docs see the whole graph before any
    # event flows.
    publishes: list[str] = field(default_factory=list)
    # Told of each assign and revoke, on the event loop (see `PartitionHooks`).
    partition_hooks: list[PartitionHooks] = field(default_factory=list)
    # Wrappers around the handling of each record, outermost first (see runtime/middleware.py).
    # (Typed loosely here: runtime/middleware.py's `Middleware` depends on `Agent`.)
    middleware: list[Callable[[Any, Any], Awaitable[None]]] = field(default_factory=list)
    handlers: list[Handler] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ConfigError(
                f"Agent name {self.name!r} must be 1-200 characters of letters, digits, '.', '_' "
                "or '-' (it becomes a consumer group id and part of topic names)"
            )
        declared(self.name, self.views)
        if self.max_in_flight < 1:
            raise ConfigError(f"Agent.max_in_flight must be at least 1, got {self.max_in_flight}")
        if self.guarantee not in GUARANTEES:
            raise ConfigError(
                f"Agent.guarantee must be one of {', '.join(GUARANTEES)}, got {self.guarantee!r}"
            )
        try:
            self.ordering = Ordering(self.ordering)
        except ValueError:
            choices = ", ".join(o.value for o in Ordering)
            raise ConfigError(
                f"Agent.ordering must be one of {choices}, got {self.ordering!r}"
            ) from None

    def on(
        self,
        topic: str,
        event_type: type[E],
        *,
        output: str | None = None,
        output_multi_type: bool = False,
    ) -> Callable[[HandlerFn[E, C]], HandlerFn[E, C]]:
        """Register a handler for `event_type` records on a topic or topic pattern.

        Records the handler returns are published to `output`, keyed like the input. An
        `async def` handler runs concurrently with others (up to `max_in_flight`); a plain
        `def` handler runs inline on the event loop, so keep it quick and free of I/O.
        `output_multi_type` registers results as `<output>-<record name>`
        (TopicRecordNameStrategy), for an output topic that carries several event types.
        """
        if not (isinstance(event_type, type) and issubclass(event_type, Record)):
            raise ConfigError(f"{event_type!r} is not a contract (a hivebus Record subclass)")
        pattern = compile_subscription(topic)

        def register(fn: HandlerFn[E, C]) -> HandlerFn[E, C]:
            is_async = inspect.iscoroutinefunction(fn)
            self.handlers.append(
                Handler(
                    topic, event_type, fn, output, pattern, is_async, output_multi_type,
                    returned_records(fn) if output is not None else (),
                )
            )  # fmt: skip
            return fn

        return register

    @property
    def exactly_once(self) -> bool:
        return self.guarantee == "exactly_once"

    @property
    def subscriptions(self) -> list[str]:
        return sorted({handler.subscription for handler in self.handlers})

    @property
    def outputs(self) -> list[str]:
        """Every topic the agent declares it writes: its handlers' outputs, `publishes`, and
        the request topics of the agents it calls."""
        requests = {topic for callee in self.calls if (topic := getattr(callee, "topic", None))}
        written = {h.output for h in self.handlers if h.output}
        return sorted(written | set(self.publishes) | requests)

    @property
    def handled_types(self) -> list[str]:
        return sorted({handler.event_type.fullname for handler in self.handlers})

    def route(self, topic: str, fullname: str) -> Handler | None:
        for handler in self.handlers:
            if handler.event_type.fullname == fullname and handler.matches(topic):
                return handler
        return None


def returned_records(fn: Callable[..., Any]) -> tuple[type[Record], ...]:
    """The Record classes in `fn`'s return annotation (inside `|`, Optional, lists); none
    when it has no annotation or one that cannot be resolved."""
    try:
        annotation = typing.get_type_hints(fn).get("return")
    except Exception:  # a forward reference defined later, say: simply nothing to prepare
        return ()
    found: list[type[Record]] = []
    pending = [annotation]
    while pending:
        hint = pending.pop()
        if isinstance(hint, type) and issubclass(hint, Record):
            found.append(hint)
        else:
            pending.extend(typing.get_args(hint))
    return tuple(dict.fromkeys(found))


def compile_subscription(topic: str) -> re.Pattern[str] | None:
    """None for an exact topic name; the compiled regex for a pattern."""
    if not topic:
        raise ConfigError("a subscription needs a topic name or pattern")
    if not set(topic) & _REGEX_CHARS:
        return None
    body = topic[1:] if topic.startswith("^") else topic
    body = body[:-1] if body.endswith("$") else body
    try:
        return re.compile(body)
    except re.error as error:
        raise ConfigError(f"subscription pattern {topic!r} is not a valid regex: {error}") from None
