"""Who a request is: the key it came with, and the agents that key may use.

The middleware puts the principal in the ASGI scope's state (`scope["state"]["principal"]`,
which Starlette shows as `request.state.principal`), so any route of the application, the
gateway's own or one mounted beside them, finds it without a reference to the middleware.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from starlette.requests import HTTPConnection

STATE_KEY = "principal"


@dataclass(frozen=True)
class Principal:
    """A caller: `key_id` None for the anonymous caller of a gateway without keys."""

    name: str
    agents: tuple[str, ...]  # fnmatch patterns, matched case-sensitively
    key_id: str | None = None

    def may_use(self, agent: str) -> bool:
        return any(fnmatchcase(agent, pattern) for pattern in self.agents)


ANONYMOUS = Principal("anonymous", ("*",))  # every caller of a gateway with no key file


def principal_of(connection: HTTPConnection | dict[str, Any]) -> Principal | None:
    """The principal of a request, a WebSocket or a raw ASGI scope; None when the request
    passed no authentication (a public path, or an app without the middleware)."""
    scope = connection.scope if isinstance(connection, HTTPConnection) else connection
    found = scope.get("state", {}).get(STATE_KEY)
    return found if isinstance(found, Principal) else None
