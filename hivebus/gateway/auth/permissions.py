"""May this caller use this agent? One check for every route that names or reads an agent's
work: submitting to it, reading, streaming, cancelling or signalling its tasks, and the
A2A routes mounted beside them (call `require` where the target agent is known).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import HTTPConnection

from hivebus.gateway.auth.principal import principal_of
from hivebus.gateway.errors import ApiError


class Unauthenticated(ApiError):
    """401: no principal, i.e. the request never passed the authentication middleware."""

    def __init__(self, message: str) -> None:
        super().__init__(401, "unauthorized", message)


class PermissionDenied(ApiError):
    """403: the key is valid but may not use `agent`."""

    def __init__(self, key: str, agent: str) -> None:
        super().__init__(
            403, "forbidden", f"the API key {key!r} may not use agent {agent!r}", agent=agent
        )
        self.agent = agent


def require(connection: HTTPConnection | dict[str, Any], agent: str) -> None:
    """Raise 403 unless the caller may use `agent` (401 when there is no caller at all:
    fail closed where the middleware did not run)."""
    principal = principal_of(connection)
    if principal is None:
        raise Unauthenticated("this request carries no authenticated API key")
    if not principal.may_use(agent):
        raise PermissionDenied(principal.name, agent)


def allowed(connection: HTTPConnection | dict[str, Any], agent: str) -> bool:
    """Whether the caller may use `agent`, for filtering lists (no exception)."""
    principal = principal_of(connection)
    return principal is not None and principal.may_use(agent)
