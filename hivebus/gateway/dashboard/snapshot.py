"""The dashboard's one document: agents, the newest tasks and dead letters, with totals.

The same document is `GET /v1/dashboard` and each event of `/v1/dashboard/events`. It is
built once per change for every viewer. `visible` then cuts it down to what one caller's
API key may see: the agents, tasks and dead letters of the agents it may use. The totals
are counted after that cut, so they never tell a caller about work it may not see.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hivebus.gateway.dashboard.agents import PARTS
from hivebus.gateway.dashboard.deadletters import DeadLetterCount
from hivebus.gateway.dashboard.tasks import READING

MayUse = Callable[[str], bool]


def build(
    *,
    taken_at: str,
    directory_read_at: str | None,
    refresh_s: float,
    agents: Sequence[Mapping[str, Any]],
    hidden_agents: int,
    tasks: Sequence[Mapping[str, Any]],
    dead_letters: Sequence[DeadLetterCount],
    problems: Sequence[str],
) -> dict[str, Any]:
    """The whole document, for every agent (`visible` cuts it down per caller)."""
    return {
        "taken_at": taken_at,
        "directory_read_at": directory_read_at,
        "refresh_s": refresh_s,
        "agents": [dict(a) for a in agents],
        "hidden_agents": hidden_agents,
        "tasks": [dict(t) for t in tasks],
        "dead_letters": [d.data() for d in sorted(dead_letters, key=_most_pending)],
        "problems": list(problems),
    }


def visible(document: Mapping[str, Any], may_use: MayUse) -> dict[str, Any]:
    """What a caller who may use the agents `may_use` accepts sees, with its totals."""
    agents = [a for a in document["agents"] if may_use(a["part_of"] or a["name"])]
    tasks = [t for t in document["tasks"] if may_use(t["agent"])]
    dead = [d for d in document["dead_letters"] if may_use(owner(d["agent"]))]
    return {**document, "agents": agents, "tasks": tasks, "dead_letters": dead,
            "totals": totals(agents, tasks, dead)}  # fmt: skip


def owner(agent: str) -> str:
    """The agent whose permission covers `agent`: `x` for its parts `x.runs`, `x.replies`."""
    for suffix in PARTS:
        if agent.endswith(suffix) and len(agent) > len(suffix):
            return agent[: -len(suffix)]
    return agent


def totals(
    agents: Sequence[Mapping[str, Any]],
    tasks: Sequence[Mapping[str, Any]],
    dead_letters: Sequence[Mapping[str, Any]],
) -> dict[str, int]:
    return {
        "agents": sum(1 for a in agents if a["live_instances"] and a["part_of"] is None),
        "instances": len({i["id"] for a in agents for i in a["instances"] if i["live"]}),
        "in_flight": sum(a["in_flight"] for a in agents),
        "lag": sum(a["lag"] or 0 for a in agents),
        "tasks_open": sum(1 for t in tasks if not t["terminal"] and t["state"] != READING),
        "tasks_failed": sum(1 for t in tasks if t["state"] == "failed"),
        "dead_letters": sum(d["total"] for d in dead_letters),
        "dead_letters_pending": sum(d["pending"] for d in dead_letters),
    }


def _most_pending(count: DeadLetterCount) -> tuple[int, int, str]:
    return (-count.pending, -count.total, count.topic)
