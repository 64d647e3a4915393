"""Call ids and callee declarations: pure logic of durable calls."""

from __future__ import annotations

import pytest

from hivebus import Agent, Callee, ConfigError
from hivebus.durable.calls import call_id, parse_call_id
from hivebus.durable.expand import expand
from tests.integration.runtime_contracts import Ping, Pong


@pytest.mark.parametrize("run_id", ["abc", "orders/3/1200", "call:x:1:y", "a:b:c"])
def test_a_call_id_names_its_agent_position_and_run_and_reads_back(run_id: str) -> None:
    made = call_id("scout", run_id, 7)
    assert parse_call_id(made, "scout") == (run_id, 7)
    assert parse_call_id(made, "scout2") is None  # another agent's call is not ours
    assert parse_call_id(made, "scou") is None


@pytest.mark.parametrize("value", ["", "abc", "call:scout:", "call:scout:x:run", "call:scout:3:"])
def test_anything_else_is_not_a_call_id(value: str) -> None:
    assert parse_call_id(value, "scout") is None


def test_a_callee_needs_topics_and_a_contract() -> None:
    with pytest.raises(ConfigError, match="reply_topic"):
        Callee("prices.requested", reply_topic="", returns=Pong)
    with pytest.raises(ConfigError, match="returns"):
        Callee("prices.requested", reply_topic="prices.quoted", returns=dict)  # type: ignore[arg-type]


def test_calls_need_a_durable_agent_and_callee_declarations() -> None:
    plain = Agent("plain", calls=[Callee("a", reply_topic="b", returns=Pong)])
    plain.on("in", Ping)(lambda ping, ctx: None)
    with pytest.raises(ConfigError, match="durable=True"):
        expand(plain)
    wrong = Agent("wrong", durable=True, calls=[("a", "b")])

    @wrong.on("in", Ping)
    async def handle(ping: Ping, ctx: object) -> None:
        return None

    with pytest.raises(ConfigError, match="Callee"):
        expand(wrong)


def test_a_caller_gets_a_reply_router_reading_each_reply_topic_once() -> None:
    pricing = Callee("prices.requested", reply_topic="prices.quoted", returns=Pong)
    again = Callee("prices.urgent", reply_topic="prices.quoted", returns=Pong)
    agent = Agent("scout", durable=True, calls=[pricing, again])

    @agent.on("leads", Ping)
    async def handle(ping: Ping, ctx: object) -> None:
        return None

    expanded = expand(agent)
    assert expanded is not None
    assert [a.name for a in expanded] == ["scout", "scout.runs", "scout.replies"]
    assert expanded[2].subscriptions == ["prices.quoted"]
    assert len(expanded[2].handlers) == 1
