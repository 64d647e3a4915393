"""Views read in durable runs: each read is a journaled step, so a replay answers what the
first execution saw (tuples both times), and the run agent is the one holding the views."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from hivebus import Agent
from hivebus.durable import codec
from hivebus.durable.expand import expand
from hivebus.durable.views import JournaledView
from tests.integration.runtime_contracts import Ping
from tests.unit.test_runtime_views import FakeView


class Journal:
    """The positional replay of `ctx.step`, as the durable context does it, in memory."""

    def __init__(self) -> None:
        self.recorded: list[tuple[str, str, bytes]] = []
        self.position = 0
        self.ran = 0

    async def step(self, name: str, fn: Callable[..., Awaitable[Any] | Any], *args: Any) -> Any:
        position, self.position = self.position, self.position + 1
        if position < len(self.recorded):
            recorded, kind, data = self.recorded[position]
            assert recorded == name
            return codec.decode(kind, data)
        self.ran += 1
        result = fn(*args)
        result = await result if isinstance(result, Awaitable) else result
        self.recorded.append((name, *codec.encode(result)))
        return result


async def test_a_replayed_run_sees_the_view_as_its_first_execution_did() -> None:
    risk = FakeView("account-risk", {"a": {"flags": 1}})
    journal = Journal()
    view = JournaledView(journal, risk)
    first = (await view.get("a"), await view.query("select key from entries"))
    risk.states = {"a": {"flags": 5}, "b": {"flags": 1}}  # the model moved on meanwhile
    journal.position = 0  # a replay, after a restart
    again = (await view.get("a"), await view.query("select key from entries"))
    assert first == again == ({"flags": 1}, [("a",)])
    assert journal.ran == 2
    assert [r[0] for r in journal.recorded] == ["hivebus:view:account-risk"] * 2
    assert (await view.get("a")) == {"flags": 5}  # a new read, past the replay: live
    assert view.name == "account-risk" and view.lag() == 3


def test_the_run_agent_of_a_durable_agent_holds_its_views() -> None:
    risk = FakeView("account-risk")
    agent = Agent("scout", durable=True, views=[risk])

    @agent.on("leads", Ping)
    async def handle(ping: Ping, ctx: object) -> None:
        return None

    expanded = expand(agent)
    assert expanded is not None
    intake, runner = expanded
    assert runner.name == "scout.runs" and runner.views == [risk]
    assert intake.views == []  # it only turns events into runs
