"""The agents' rows: the directory's view of each, with its group's lag and its rates.

A durable agent runs as several agents (`x`, `x.runs`, `x.replies`, see durable/expand.py).
Each has its own consumer group and its own row, and the parts name `x` in `part_of`, so a
page can show them together. Agents that have not been heard from for `SHOWN_FOR_S` are
left out and only counted: a long-lived directory remembers every agent that ever ran.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from hivebus.gateway.dashboard.offsets import GroupOffsets
from hivebus.gateway.dashboard.rates import RateMeter
from hivebus.runtime.directory import AgentAnnouncement, AgentView

SHOWN_FOR_S = 15 * 60
PARTS = (".runs", ".replies")


def heard_at(announcement: AgentAnnouncement) -> datetime:
    return datetime.fromisoformat(announcement.heartbeat_at.replace("Z", "+00:00"))


def shown_agents(views: Mapping[str, AgentView], at: datetime) -> list[str]:
    """The agents with a live instance or one heard from lately, by name."""
    since = at - timedelta(seconds=SHOWN_FOR_S)
    return sorted(
        name
        for name, view in views.items()
        if view.live_instances(at) or any(heard_at(a) >= since for a in view.instances.values())
    )


def part_of(name: str, names: Mapping[str, object]) -> str | None:
    """The durable agent `name` is a part of (`x` for `x.runs`), if that one is known."""
    for suffix in PARTS:
        if name.endswith(suffix) and name[: -len(suffix)] in names:
            return name[: -len(suffix)]
    return None


def sample_instances(meter: RateMeter, views: Mapping[str, AgentView]) -> None:
    """Feed each instance's `consumed` counter, at its heartbeat's time, to `meter`."""
    for view in views.values():
        for instance in view.instances.values():
            meter.add(instance_key(instance), heard_at(instance).timestamp(), instance.consumed)


def sample_groups(
    committed: RateMeter, arrived: RateMeter, groups: Mapping[str, GroupOffsets], at: float
) -> None:
    """Feed each group's commits and its partitions' ends, read at `at`, to the meters."""
    for group, offsets in groups.items():
        committed.add(group, at, offsets.committed_total)
        arrived.add(group, at, offsets.end_total)


def instance_key(announcement: AgentAnnouncement) -> str:
    return f"{announcement.agent}/{announcement.instance}"


def agent_row(
    view: AgentView,
    *,
    at: datetime,
    durable: bool,
    part: str | None,
    offsets: GroupOffsets | None,
    instance_rates: RateMeter,
    committed_rates: RateMeter,
    arrival_rates: RateMeter,
) -> dict[str, Any]:
    live = {a.instance for a in view.live_instances(at)}
    since = at - timedelta(seconds=SHOWN_FOR_S)
    instances = []
    for one in sorted(view.instances.values(), key=lambda a: a.started_at):
        is_live = one.instance in live
        if not is_live and heard_at(one) < since:
            continue
        instances.append({
            "id": one.instance,
            "status": one.status if is_live or one.status != "running" else "silent",
            "live": is_live,
            "version": one.version,
            "started_at": one.started_at,
            "heartbeat_at": one.heartbeat_at,
            "heartbeat_interval_s": one.heartbeat_interval_s,
            "in_flight": one.in_flight if is_live else 0,
            "consumed": one.consumed,
            "produced": one.produced,
            "consumed_per_s": instance_rates.rate(instance_key(one)) if is_live else None,
        })  # fmt: skip
    rates = [i["consumed_per_s"] for i in instances if i["consumed_per_s"] is not None]
    latest = view.latest
    return {
        "name": view.name,
        "part_of": part,
        "version": latest.version,
        "description": latest.description,
        "durable": durable,
        "status": "running" if live else latest.status,
        "live_instances": len(live),
        "instances": instances,
        "in_flight": sum(i["in_flight"] for i in instances),
        "consumed_per_s": sum(rates) if rates else None,
        "lag": offsets.lag if offsets is not None else None,
        "committed_per_s": committed_rates.rate(view.name),
        "arriving_per_s": arrival_rates.rate(view.name),
        "subscriptions": latest.subscriptions,
        "handles": latest.handles,
        "outputs": latest.outputs,
    }
