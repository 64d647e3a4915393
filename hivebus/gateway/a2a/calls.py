"""What each A2A request carries besides its body: the agent of its endpoint, this gateway,
the caller (whose API key, for the per-agent permissions).

The SDK makes a `ServerCallContext` per request from the Starlette request; this builder adds
the agent the path names (`/a2a/agents/{agent}`; none on the gateway's own endpoint `/a2a`)
and the running `Gateway`, which the store, the event stream and the executor read. The
A2A objects are made with the app, the gateway only in its lifespan: `Bound` is where the
first request leaves it for the parts of the SDK that are handed no request.
"""

from __future__ import annotations

from typing import Any

from a2a.server.context import ServerCallContext
from a2a.server.routes import DefaultServerCallContextBuilder
from starlette.requests import Request

from hivebus.gateway.service import Gateway

AGENT, GATEWAY, PREPARED = "hivebus.agent", "hivebus.gateway", "hivebus.prepared"
CALLER = "hivebus.caller"  # the request's ASGI scope: whose key it carries (auth)


class Bound:
    """This process's gateway, once a request has come."""

    def __init__(self) -> None:
        self._gateway: Gateway | None = None

    def bind(self, gateway: Gateway) -> None:
        self._gateway = gateway

    @property
    def gateway(self) -> Gateway:
        assert self._gateway is not None, "no A2A request has come yet"
        return self._gateway


class CallContexts(DefaultServerCallContextBuilder):
    def __init__(self, bound: Bound) -> None:
        self._bound = bound

    def build(self, request: Request) -> ServerCallContext:
        context = super().build(request)
        gateway: Gateway = request.app.state.gateway
        self._bound.bind(gateway)
        context.state[GATEWAY] = gateway
        context.state[AGENT] = request.path_params.get("agent")
        context.state[CALLER] = request.scope
        return context


def gateway_of(context: ServerCallContext) -> Gateway:
    gateway: Gateway = context.state[GATEWAY]
    return gateway


def caller_of(context: ServerCallContext) -> dict[str, Any] | None:
    """The request's ASGI scope, for `hivebus.gateway.auth.allowed` (None: no request)."""
    caller: dict[str, Any] | None = context.state.get(CALLER)
    return caller


def scope_of(context: ServerCallContext) -> str | None:
    """The agent whose endpoint the request came to (None: the gateway's own, all agents)."""
    agent: str | None = context.state.get(AGENT)
    return agent
