"""Which agent an A2A message is for: the one place that decides it.

The agent of the endpoint's path (`/a2a/agents/{agent}`), or on the gateway's own endpoint
(`/a2a`) the skill the message's metadata names (`"skill": "<agent>"`, the skill ids of the
gateway's card). The topic and the contract then come as for `POST /v1/tasks`: the agent's
subscription and the newest contract it handles, or `metadata.hivebus.topic` / `.type` for
an agent with several. The caller's key must be allowed the agent (`hivebus.gateway.auth`).
"""

from __future__ import annotations

from typing import Any

from a2a.types import Message
from a2a.utils.errors import A2AError, InternalError, InvalidParamsError, InvalidRequestError
from google.protobuf import json_format

from hivebus.gateway.auth import allowed, principal_of
from hivebus.gateway.errors import ApiError
from hivebus.gateway.service import Gateway
from hivebus.gateway.targets import Target, resolve_fresh

SKILL, HINTS = "skill", "hivebus"


async def resolve_target(
    gateway: Gateway, agent: str | None, message: Message, caller: dict[str, Any] | None = None
) -> Target:
    """The durable agent, topic and contract of a new task for `message`, sent to the
    endpoint of `agent` (None: the gateway's own), if the caller's key may use it."""
    hints = hints_of(message)
    name = agent or hints.get(SKILL)
    if not isinstance(name, str) or not name:
        snapshot = await gateway.catalog.current()
        raise InvalidParamsError(
            message="name the agent: send to /a2a/agents/<agent>, or give the skill "
            f"(the agent's name) as the message's metadata 'skill'; agents: "
            f"{', '.join(a for a in snapshot.live_durable_agents() if _sees(caller, a)) or 'none'}"
        )
    if caller is not None and not allowed(caller, name):
        raise forbidden(caller, name)
    topic, type_ = hints.get("topic"), hints.get("type")
    try:
        return await resolve_fresh(
            gateway.catalog, gateway.contracts, name, _text(topic), _text(type_),
            lambda agent: _sees(caller, agent),
        )  # fmt: skip
    except ApiError as error:
        raise a2a_error(error) from None


def hints_of(message: Message) -> dict[str, Any]:
    """The message's metadata `skill`, and what `metadata.hivebus` says (topic, type, key)."""
    if not message.metadata:
        return {}
    metadata = json_format.MessageToDict(message.metadata)
    found = metadata.get(HINTS)
    hints = dict(found) if isinstance(found, dict) else {}
    if SKILL in metadata:
        hints[SKILL] = metadata[SKILL]
    return hints


def forbidden(caller: dict[str, Any], agent: str) -> A2AError:
    """The 403 of `POST /v1/tasks`, as an A2A error (the protocol has no permission error)."""
    principal = principal_of(caller)
    key = principal.name if principal is not None else "(none)"
    return InvalidRequestError(
        message=f"the API key {key!r} may not use agent {agent!r}",
        data={"code": "forbidden", "agent": agent},
    )


def a2a_error(error: ApiError) -> A2AError:
    """A gateway error as A2A says it: the request's fault, or the gateway's (503)."""
    data = {"code": error.code, **error.extra}
    if error.status >= 500:
        return InternalError(message=error.message, data=data)
    return InvalidParamsError(message=error.message, data=data)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _sees(caller: dict[str, Any] | None, agent: str) -> bool:
    """May the caller see `agent` listed (no caller: the gateway runs without auth here)."""
    return caller is None or allowed(caller, agent)
