"""Declaring agents: names, subscriptions, routing by topic and event type, bad config."""

from __future__ import annotations

import pytest

from hivebus import Agent, ConfigError, Context, Retry
from tests.integration.runtime_contracts import Ping, Pong


def test_exact_names_and_patterns_become_librdkafka_subscriptions() -> None:
    agent = Agent("router")

    @agent.on("orders.created", Ping)
    async def exact(event: Ping, ctx: Context) -> None: ...

    @agent.on("transactions.*", Pong)
    async def pattern(event: Pong, ctx: Context) -> None: ...

    assert agent.subscriptions == ["^transactions.*$", "orders.created"]
    assert agent.handled_types == ["test.runtime.Ping", "test.runtime.Pong"]


def test_routing_needs_both_the_topic_and_the_event_type_to_match() -> None:
    agent = Agent("router")

    @agent.on(r"transactions\..*", Ping)
    async def handle(event: Ping, ctx: Context) -> None: ...

    assert agent.route("transactions.card", "test.runtime.Ping") is not None
    assert agent.route("transactions.card", "test.runtime.Pong") is None  # not its type
    assert agent.route("transactionsXcard", "test.runtime.Ping") is None  # escaped dot
    assert agent.route("other.transactions.card", "test.runtime.Ping") is None  # anchored


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"name": "has space"}, "Agent name"),
        ({"name": ""}, "Agent name"),
        ({"name": "ok", "max_in_flight": 0}, "Agent.max_in_flight"),
        ({"name": "ok", "ordering": "sometimes"}, "Agent.ordering"),
    ],
)
def test_invalid_agents_are_rejected_naming_the_field(
    options: dict[str, object], field: str
) -> None:
    with pytest.raises(ConfigError, match=field):
        Agent(**options)  # type: ignore[arg-type]


def test_handlers_must_name_a_contract_and_a_valid_pattern() -> None:
    agent = Agent("picky")
    with pytest.raises(ConfigError, match="not a contract"):
        agent.on("t", dict)  # type: ignore[type-var]
    with pytest.raises(ConfigError, match="not a valid regex"):
        agent.on("orders.(", Ping)


def test_retry_backoff_doubles_up_to_its_cap() -> None:
    retry = Retry(attempts=5, backoff_s=0.5, max_backoff_s=3)
    assert [retry.delay(n) for n in range(1, 5)] == [0.5, 1.0, 2.0, 3.0]
    with pytest.raises(ConfigError, match=r"Retry\.attempts"):
        Retry(attempts=0)


def test_the_records_a_handler_returns_are_read_from_its_annotation() -> None:
    from hivebus.runtime.agent import returned_records
    from tests.integration.runtime_contracts import Ping, Pong

    def one(p: Ping, ctx: object) -> Pong: ...
    def maybe(p: Ping, ctx: object) -> Pong | None: ...
    def many(p: Ping, ctx: object) -> list[Pong | Ping]: ...
    def bare(p, ctx): ...  # type: ignore[no-untyped-def]
    def forward(p: Ping, ctx: object) -> Undefined: ...  # type: ignore[name-defined]  # noqa: F821

    assert returned_records(one) == (Pong,)
    assert returned_records(maybe) == (Pong,)
    assert set(returned_records(many)) == {Pong, Ping}
    assert returned_records(bare) == ()
    assert returned_records(forward) == ()
