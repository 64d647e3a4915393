"""Which agent a submission is for, on which topic, with which contract.

A task is a durable run, so only durable agents (those with a journal topic) take tasks. A
request names the agent, the topic, or both; the other is found from the directory: the
agent's subscriptions that are topic names (a pattern subscription needs the topic named),
or the one durable agent subscribed to the topic. The contract must be one the agent
handles, or the run would never start.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from hivebus.contracts import ContractError
from hivebus.gateway.catalog import Catalog, Snapshot
from hivebus.gateway.contracts import Contracts, TopicContract
from hivebus.gateway.errors import ApiError
from hivebus.runtime.directory import AgentView

KNOWN_SHOWN = 20


Visible = Callable[[str], bool]  # may the caller see this agent's name


def everyone(agent: str) -> bool:
    return True


@dataclass(frozen=True)
class Target:
    agent: str
    topic: str
    contract: TopicContract


async def resolve(
    snapshot: Snapshot,
    contracts: Contracts,
    agent: str | None,
    topic: str | None,
    type_: str | None,
    visible: Visible = everyone,
) -> Target:
    """The agent, topic and contract of a task; errors that list agents list only those
    `visible` (the caller's key may use)."""
    if agent is None and topic is None:
        raise ApiError(400, "invalid_request", "name the task's 'agent' or 'topic'")
    view = (
        _agent(snapshot, agent, visible)
        if agent is not None
        else _subscriber(snapshot, str(topic), visible)
    )
    topics = [topic] if topic is not None else _topics_of(view)
    if topic is not None and not any(_subscribes(s, topic) for s in view.latest.subscriptions):
        listed = _listed(view.latest.subscriptions)
        raise ApiError(
            400,
            "not_subscribed",
            f"agent {view.name!r} does not subscribe to {topic!r}; it subscribes to {listed}",
        )
    candidates = []
    for name in topics:
        found = await _contract(contracts, name, type_)
        if found is not None and found.contract.fullname in view.latest.handles:
            candidates.append(Target(view.name, name, found))
        elif found is not None and (topic is not None or type_ is not None):
            handles = _listed(view.latest.handles)
            raise ApiError(
                400,
                "not_handled",
                f"agent {view.name!r} handles {handles}, not "
                f"{found.contract.fullname} (the contract of {name!r})",
            )
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        subjects = _listed([f"{t}-value" for t in topics])
        raise ApiError(
            400,
            "no_contract",
            f"no contract of {view.name!r}'s input is registered "
            f"(subject {subjects}): register it with `hivebus topology apply`, or "
            "name the 'type'",
        )
    names = _listed([c.topic for c in candidates])
    raise ApiError(
        400,
        "ambiguous",
        f"agent {view.name!r} takes tasks on {names}: name the 'topic' (or the 'type')",
    )


def _agent(snapshot: Snapshot, name: str, visible: Visible) -> AgentView:
    if snapshot.is_durable(name):
        return snapshot.agents[name]
    if name in snapshot.agents:
        raise ApiError(
            400,
            "not_durable",
            f"agent {name!r} is not durable, so its work is no run to follow; "
            f"agents that take tasks: {_known(snapshot, visible)}",
        )
    raise _unknown(snapshot, f"no agent {name!r} in the directory", visible)


def _subscriber(snapshot: Snapshot, topic: str, visible: Visible) -> AgentView:
    views = [
        snapshot.agents[name]
        for name in snapshot.durable_agents()
        if any(_subscribes(s, topic) for s in snapshot.agents[name].latest.subscriptions)
    ]
    if len(views) == 1:
        return views[0]
    if not views:
        raise _unknown(snapshot, f"no durable agent subscribes to {topic!r}", visible)
    names = _listed([v.name for v in views])
    raise ApiError(
        400,
        "ambiguous",
        f"durable agents {names} all subscribe to {topic!r}: "
        "name the 'agent' whose run the task is",
    )


def _topics_of(view: AgentView) -> list[str]:
    names = [s for s in view.latest.subscriptions if not s.startswith("^")]
    if not names:
        raise ApiError(
            400,
            "topic_required",
            f"agent {view.name!r} subscribes by pattern "
            f"({_listed(view.latest.subscriptions)}): name the 'topic'",
        )
    return names


async def _contract(contracts: Contracts, topic: str, type_: str | None) -> TopicContract | None:
    try:
        found = await contracts.of(topic, type_)
    except ContractError as error:
        raise ApiError(
            400, "unsupported_contract", f"the contract of {topic!r} cannot be used here: {error}"
        ) from None
    if found is not None and type_ is not None and found.contract.fullname != type_:
        raise ApiError(
            400, "not_handled", f"{topic!r} carries {found.contract.fullname}, not {type_}"
        )
    return found


# Worth a fresh look at the directory: the agent may have started a moment ago.
_NEW_AGENT = ("unknown_agent", "not_durable", "not_subscribed")


async def resolve_fresh(
    catalog: Catalog, contracts: Contracts, agent: str | None, topic: str | None,
    type_: str | None, visible: Visible = everyone,
) -> Target:  # fmt: skip
    """`resolve` on the directory as the gateway last read it, and once more on a fresher
    reading when the agent was not found there (it may have started since)."""
    asked = time.monotonic()
    snapshot = await catalog.current()
    try:
        return await resolve(snapshot, contracts, agent, topic, type_, visible)
    except ApiError as error:
        if error.code not in _NEW_AGENT or snapshot.taken >= asked:
            raise
    fresh = await catalog.fresher(asked)
    return await resolve(fresh, contracts, agent, topic, type_, visible)


def _subscribes(subscription: str, topic: str) -> bool:
    if not subscription.startswith("^"):
        return subscription == topic
    body = subscription[1:-1] if subscription.endswith("$") else subscription[1:]
    return re.fullmatch(body, topic) is not None


def _unknown(snapshot: Snapshot, what: str, visible: Visible) -> ApiError:
    return ApiError(
        404,
        "unknown_agent",
        f"{what}; agents that take tasks: {_known(snapshot, visible)}",
        known_agents=_live(snapshot, visible),
    )


def _live(snapshot: Snapshot, visible: Visible) -> list[str]:
    return [name for name in snapshot.live_durable_agents() if visible(name)]


def _known(snapshot: Snapshot, visible: Visible) -> str:
    """The durable agents running now that the caller may see (the first few of them)."""
    live = _live(snapshot, visible)
    shown = _listed(live[:KNOWN_SHOWN])
    return shown + (f" and {len(live) - KNOWN_SHOWN} more" if len(live) > KNOWN_SHOWN else "")


def _listed(names: list[str]) -> str:
    return ", ".join(repr(n) for n in names) if names else "none"
