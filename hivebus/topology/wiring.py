"""The agents of a topology: imported from their modules, given the topology's settings, and
checked against the topics the topology declares, so the file never promises a graph the code
does not have.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from hivebus.errors import HivebusError
from hivebus.runtime.agent import Agent, compile_subscription
from hivebus.runtime.loader import load_agents
from hivebus.topology.load import Loaded
from hivebus.topology.model import AgentEntry, Setting


@dataclass(frozen=True)
class Wired:
    """An agent as the topology runs it, with the topics it reads and writes."""

    name: str
    entry: AgentEntry
    agent: Agent
    reads: list[str]  # declared topics its subscriptions match
    writes: list[str]  # its outputs (all declared)


def wire(loaded: Loaded, only: list[str] | None = None) -> list[Wired]:
    """Import and check the topology's agents (or those named in `only`)."""
    topology = loaded.topology
    names = only or list(topology.agents)
    for name in names:
        if name not in topology.agents:
            known = ", ".join(topology.agents) or "none"
            raise HivebusError(
                f"{loaded.source.path}: no agent {name!r} in this topology (agents: {known})"
            )
    return [_wire_one(loaded, name, topology.agents[name]) for name in names]


def _wire_one(loaded: Loaded, name: str, entry: AgentEntry) -> Wired:
    source, topics = loaded.source, loaded.topology.topics
    here = ("agents", name)
    module = entry.module
    target, sep, attribute = module.partition(":")
    if target.endswith(".py"):
        target = str(loaded.resolve(target))
    try:
        found = load_agents(f"{target}{sep}{attribute}")
    except HivebusError as error:
        raise source.error((*here, "module"), str(error)) from None
    except Exception as error:  # the module itself failed to import: its own bug
        raise source.error(
            (*here, "module"), f"importing {module} failed: {type(error).__name__}: {error}"
        ) from None
    matching = [agent for agent in found if agent.name == name]
    if not matching:
        names = ", ".join(a.name for a in found)
        raise source.error(
            (*here, "module"),
            f"{module} defines no agent named {name!r} (it defines {names}); the key under "
            "agents is the agent's name, which is its consumer group",
        )
    agent = _configured(matching[0], entry)
    reads = _reads(agent, loaded)
    subscribed = sorted({handler.topic for handler in agent.handlers})
    if entry.subscribes is not None and sorted(set(entry.subscribes)) != subscribed:
        raise source.error(
            (*here, "subscribes"),
            f"the code subscribes to {', '.join(subscribed)}, not what is written here",
        )
    for topic in reads:
        if topic not in topics and not topic.startswith("hivebus."):
            raise source.error(
                (*here, "module"),
                f"agent {name!r} subscribes to {topic!r}, which is not declared under topics",
            )
    writes = agent.outputs
    if entry.publishes is not None:
        undeclared = sorted(set(writes) - set(entry.publishes))
        if undeclared:
            raise source.error(
                (*here, "publishes"),
                f"the code also publishes to {', '.join(undeclared)}; list every output",
            )
        writes = sorted(set(writes) | set(entry.publishes))
    for topic in writes:
        if topic not in topics and not topic.startswith("hivebus."):
            raise source.error(
                (*here, "module"),
                f"agent {name!r} publishes to {topic!r}, which is not declared under topics",
            )
    return Wired(name, entry, agent, reads, writes)


def _configured(agent: Agent, entry: AgentEntry) -> Agent:
    """A copy of `agent` with the topology's settings over the code's own."""
    changes: dict[str, Any] = {}
    if entry.max_in_flight is not None:
        changes["max_in_flight"] = entry.max_in_flight
    if entry.guarantee is not None:
        changes["guarantee"] = entry.guarantee
    if entry.durable is not None:
        changes["durable"] = entry.durable
    if entry.consumer:
        changes["consumer_config"] = {**agent.consumer_config, **entry.consumer}
    if entry.publishes:
        changes["publishes"] = sorted(set(agent.publishes) | set(entry.publishes))
    return dataclasses.replace(agent, **changes) if changes else agent


def _reads(agent: Agent, loaded: Loaded) -> list[str]:
    """The declared topics whose events `agent` handles: those its subscriptions match that
    carry a handled type (a topic with no declared contract may carry any)."""
    carried: dict[str, set[str]] = {}
    for entry, contract in zip(loaded.topology.contracts, loaded.contracts, strict=True):
        for topic in entry.topics:
            carried.setdefault(topic, set()).add(contract.fullname)
    matched: set[str] = set()
    for handler in agent.handlers:
        pattern = compile_subscription(handler.topic)
        if pattern is None:
            names = {handler.topic}
        else:
            names = {name for name in loaded.topology.topics if pattern.fullmatch(name)}
        fullname = handler.event_type.fullname
        matched |= {name for name in names if fullname in carried.get(name, {fullname})}
    return sorted(matched)


def topology_producer_settings(wired: list[Wired]) -> dict[str, Setting]:
    """The producer settings of the agents run in one worker, which share one producer: two
    agents asking different values of one setting cannot share it."""
    merged: dict[str, Setting] = {}
    owner: dict[str, str] = {}
    for each in wired:
        for key, value in each.entry.producer.items():
            if key in merged and merged[key] != value:
                raise HivebusError(
                    f"agents {owner[key]!r} and {each.name!r} set producer {key} to "
                    f"{merged[key]!r} and {value!r}; run them in separate workers (--agent)"
                )
            merged[key], owner[key] = value, each.name
    return merged
