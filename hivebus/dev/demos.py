"""The examples `hivebus dev demo NAME` runs, each against `agents/` on the local stack.

A new example plugs in here: its name, one line on what it shows, and how to run it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Demo:
    name: str
    shows: str
    run: Callable[..., Any]  # (agents folder, --count or None[, serve=--serve])
    serves: bool = False  # takes `serve=`: stays up afterwards (`--serve`)


def _fraud(agents: Path, count: int | None) -> Any:
    from hivebus.dev import demo

    return demo.run(agents, count=count or 30)


def _research(agents: Path, count: int | None) -> Any:
    from hivebus.dev import research_demo

    return research_demo.run(agents)


def _market(agents: Path, count: int | None) -> Any:
    from hivebus.dev import market_demo

    return market_demo.run(agents, count=count or 24)


def _proactive(agents: Path, count: int | None) -> Any:
    from hivebus.dev import proactive_demo

    return proactive_demo.run(agents)


def _hierarchy(agents: Path, count: int | None) -> Any:
    from hivebus.dev import hierarchy_demo

    return hierarchy_demo.run(agents)


def _saga(agents: Path, count: int | None) -> Any:
    from hivebus.dev import saga_demo

    return saga_demo.run(agents)


def _orchestrator(agents: Path, count: int | None) -> Any:
    from hivebus.dev import orchestrator_demo

    return orchestrator_demo.run(agents)


def _blackboard(agents: Path, count: int | None) -> Any:
    from hivebus.dev import blackboard_demo

    return blackboard_demo.run(agents)


def _readmodel(agents: Path, count: int | None) -> Any:
    from hivebus.dev import readmodel_demo

    return readmodel_demo.run(agents)


def _gateway(agents: Path, count: int | None, *, serve: bool = False) -> Any:
    from hivebus.dev import gateway_demo

    return gateway_demo.run(agents, serve=serve)


DEMOS = {
    demo.name: demo
    for demo in (
        Demo("fraud", "the fraud + compliance agents, contract v1 then v2, end to end", _fraud),
        Demo("research", "the durable 14-step lead-scouting agent, its worker killed at step "
             "11 and restarted, the run going on from step 11, a human approval", _research),
        Demo("orchestrator", "a research orchestrator hands searches, scrapes and an "
             "extraction to three worker types and joins them", _orchestrator),
        Demo("market", "LLM bidders auction tasks; the coordinator killed -9 mid-auction; "
             "exactly one award per task", _market),
        Demo("proactive", "a metrics stream with a spike: a detector's anomaly and a "
             "root-cause report nobody asked for (tools fanned out, an LLM summary)", _proactive),
        Demo("hierarchy", "an editor spawns section writers who spawn researchers: child "
             "runs of one pooled agent, depth-bounded", _hierarchy),
        Demo("blackboard", "an incident board: logs, metrics and hypothesis agents post until "
             "a writer closes it with a root cause", _blackboard),
        Demo("readmodel", "account risk profiles folded from flagged transactions, queried by "
             "an agent, restored on a new replica from Kafka", _readmodel),
        Demo("saga", "orders through payment and shipping; failures compensated in reverse, "
             "an LLM choosing refund or store credit", _saga),
        Demo("gateway", "a task over HTTP: 202 at once, its steps streamed as Server-Sent "
             "Events, a human's approval as a signal; then the dashboard", _gateway,
             serves=True),
    )
}  # fmt: skip
