"""Agent cards, built from the directory: one per durable agent, and the gateway's own.

A durable agent's card (`/a2a/agents/<agent>/.well-known/agent-card.json`) names its
endpoints and one skill, the agent itself, with what it takes: A2A messages as they are
(text, data, files) for an agent whose input is `A2AMessage`, otherwise a data part in the
shape of its contract. The gateway's card (`/.well-known/agent-card.json`) lists every
durable agent running now as a skill of the gateway's own endpoint, where a message names
the skill it is for. The cards are as fresh as the directory the gateway has read (15 s).
"""

from __future__ import annotations

from a2a.types import AgentCapabilities, AgentCard, AgentInterface, AgentSkill
from a2a.utils.constants import PROTOCOL_VERSION_1_0, TransportProtocol

from hivebus.gateway.a2a.contracts import A2AMessage
from hivebus.gateway.catalog import Snapshot
from hivebus.runtime.directory import AgentView

JSON, TEXT, FILES = "application/json", "text/plain", "application/octet-stream"
CAPABILITIES = AgentCapabilities(streaming=True, push_notifications=False)
GATEWAY_PATH, AGENT_PATH = "/a2a", "/a2a/agents/{agent}"
REST = "/rest"


def agent_card(view: AgentView, base: str) -> AgentCard:
    """The card of durable agent `view`; `base` is the gateway's URL as the client sees it."""
    skill = _skill(view)
    return AgentCard(
        name=view.name,
        description=view.latest.description or skill.description,
        version=view.latest.version or "0",
        supported_interfaces=_interfaces(base + AGENT_PATH.format(agent=view.name)),
        capabilities=CAPABILITIES,
        default_input_modes=list(skill.input_modes),
        default_output_modes=list(skill.output_modes),
        skills=[skill],
    )


def gateway_card(snapshot: Snapshot, base: str, version: str) -> AgentCard:
    """The gateway's card: each durable agent running now is a skill (its id: the name)."""
    skills = [_skill(snapshot.agents[name]) for name in snapshot.live_durable_agents()]
    return gateway_template(base, version, skills)


def gateway_template(base: str, version: str, skills: list[AgentSkill]) -> AgentCard:
    return AgentCard(
        name="hivebus gateway",
        description="The durable agents of a hivebus system: each skill is one agent; a "
        "message names the skill it is for in its metadata ('skill'), or goes to the "
        "agent's own endpoint (/a2a/agents/<agent>)",
        version=version,
        supported_interfaces=_interfaces(base + GATEWAY_PATH),
        capabilities=CAPABILITIES,
        default_input_modes=[JSON, TEXT],
        default_output_modes=[JSON, TEXT],
        skills=skills,
    )


def _skill(view: AgentView) -> AgentSkill:
    speaks = A2AMessage.fullname in view.latest.handles
    takes = ", ".join(view.latest.handles) or "nothing yet"
    on = ", ".join(view.latest.subscriptions)
    return AgentSkill(
        id=view.name,
        name=view.name,
        description=view.latest.description or f"durable agent {view.name}: takes {takes} on {on}",
        tags=["hivebus", "durable", *view.latest.handles],
        input_modes=[TEXT, JSON, FILES] if speaks else [JSON],
        output_modes=[TEXT, JSON, FILES] if speaks else [JSON],
    )


def _interfaces(url: str) -> list[AgentInterface]:
    return [
        AgentInterface(
            url=url,
            protocol_binding=TransportProtocol.JSONRPC.value,
            protocol_version=PROTOCOL_VERSION_1_0,
        ),
        AgentInterface(
            url=url + REST,
            protocol_binding=TransportProtocol.HTTP_JSON.value,
            protocol_version=PROTOCOL_VERSION_1_0,
        ),
    ]
