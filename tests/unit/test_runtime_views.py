"""Views through the Context: an agent declares the read models it reads, a handler asks
`ctx.view(name)` for one, and asking for one it did not declare fails naming both sides."""

from __future__ import annotations

from typing import Any

import pytest

from hivebus import Agent, ConfigError, Context, HivebusError
from hivebus.runtime.views import UndeclaredView
from hivebus.testing import AgentHarness
from tests.integration.runtime_contracts import Ping, Pong


class FakeView:
    """A read model as the runtime sees one, answering from a dict."""

    def __init__(self, name: str, states: dict[str, Any] | None = None) -> None:
        self.name = name
        self.states = states or {}
        self.started = self.closed = 0

    async def get(self, key: str) -> Any:
        return self.states.get(key)

    async def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        return [(key,) for key in sorted(self.states)]

    def lag(self) -> int:
        return 3

    def start(self) -> None:
        self.started += 1

    def close(self) -> None:
        self.closed += 1


async def test_a_handler_reads_a_declared_view_through_its_context() -> None:
    risk = FakeView("account-risk", {"k": {"flags": 2}})
    agent = Agent("watch", views=[risk])

    @agent.on("pings", Ping, output="pongs")
    async def answer(ping: Ping, ctx: Context) -> Pong:
        view = ctx.view("account-risk")
        state = await view.get(ping.key)
        rows = await view.query("select key from entries")
        return Pong(id=ping.id, key=ping.key, seq=state["flags"],
                    handled_by=f"{rows} lag {view.lag()}")  # fmt: skip

    async with AgentHarness(agent) as h:
        result = await h.send("pings", Ping(id="p1", key="k", seq=0), key="k")
    [out] = result.published
    assert out.record == Pong(id="p1", key="k", seq=2, handled_by="[('k',)] lag 3")


async def test_an_undeclared_view_fails_naming_the_agent_and_what_it_declared() -> None:
    agent = Agent("watch", views=[FakeView("account-risk"), FakeView("limits")])

    @agent.on("pings", Ping)
    async def answer(ping: Ping, ctx: Context) -> None:
        ctx.view("board")

    async with AgentHarness(agent, fast_retries=True) as h:
        result = await h.send("pings", Ping(id="p1", key="k", seq=0))
    assert result.dead_letter is not None
    assert result.dead_letter.error_type == "UndeclaredView"
    message = result.dead_letter.message
    assert "'watch'" in message and "'board'" in message
    assert "account-risk, limits" in message and "views=[...]" in message
    assert issubclass(UndeclaredView, HivebusError)


def test_an_agent_with_no_views_says_so_when_one_is_asked_for() -> None:
    error = UndeclaredView("quiet", "board", [])
    assert "declares none" in str(error)


def test_view_names_are_unique_per_agent_and_views_need_a_name() -> None:
    with pytest.raises(ConfigError, match="twice: 'risk'"):
        Agent("watch", views=[FakeView("risk"), FakeView("risk")])
    with pytest.raises(ConfigError, match=r"Agent\.views"):
        Agent("watch", views=["risk"])
