"""A2A's routes in the gateway: the cards, and the SDK's JSON-RPC and HTTP+JSON endpoints.

| path | what |
| --- | --- |
| `/.well-known/agent-card.json` | the gateway's card: every durable agent is a skill |
| `POST /a2a`, `/a2a/rest/...` | the gateway's endpoint: a message names its skill |
| `/a2a/agents/{agent}/.well-known/agent-card.json` | one agent's card |
| `POST /a2a/agents/{agent}`, `/a2a/agents/{agent}/rest/...` | that agent's endpoint |

One request handler serves them all, over the Kafka-kept store and event stream.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import format_datetime
from importlib import metadata

from a2a.server.request_handlers.response_helpers import (
    agent_card_to_dict,
    build_error_response,
)
from a2a.server.routes import create_jsonrpc_routes, create_rest_routes
from a2a.types import AgentSkill
from a2a.utils.constants import A2A_JSON_MEDIA_TYPE, AGENT_CARD_WELL_KNOWN_PATH
from a2a.utils.error_handlers import build_rest_error_payload
from a2a.utils.errors import A2AError, ContentTypeNotSupportedError, InvalidRequestError
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hivebus.gateway.a2a.calls import Bound, CallContexts
from hivebus.gateway.a2a.cards import (
    AGENT_PATH,
    GATEWAY_PATH,
    REST,
    agent_card,
    gateway_card,
    gateway_template,
)
from hivebus.gateway.a2a.executor import RunExecutor
from hivebus.gateway.a2a.handler import JournalRequestHandler
from hivebus.gateway.a2a.prepare import Requests
from hivebus.gateway.a2a.store import JournalTaskStore
from hivebus.gateway.a2a.stream import JournalEventStream
from hivebus.gateway.errors import ApiError
from hivebus.gateway.service import Gateway
from hivebus.runtime.directory import AgentView

# A task waiting for input keeps no SDK object in memory for longer than this: an answer
# finds it in Kafka (on any replica) all the same.
IDLE_S = 60.0
UNSUPPORTED_MEDIA_TYPE = 415
JSON, A2A_JSON = "application/json", A2A_JSON_MEDIA_TYPE.encode()
Endpoint = Callable[[Request], Awaitable[Response]]
CARD_CACHE = "public, max-age=15"  # as often as the gateway reads the directory
# The handler's card only tells it what A2A's endpoints can do; clients get the cards above.
ALL_AGENTS = AgentSkill(
    id="agents", name="agents", description="every durable agent", tags=["hivebus"]
)


def a2a_routes() -> list[BaseRoute]:
    bound = Bound()
    store, stream = JournalTaskStore(), JournalEventStream(bound)
    handler = JournalRequestHandler(
        agent_executor=RunExecutor(store),
        store=store,
        stream=stream,
        agent_card=gateway_template("", _version(), [ALL_AGENTS]),
        request_context_builder=Requests(),
        interrupted_task_timeout=IDLE_S,
    )
    contexts = CallContexts(bound)
    rest = create_rest_routes(handler, context_builder=contexts)
    return [
        Route(AGENT_CARD_WELL_KNOWN_PATH, card, methods=["GET"]),
        Route(AGENT_PATH + AGENT_CARD_WELL_KNOWN_PATH, card, methods=["GET"]),
        *(
            Route(route.path, _json_only(route.endpoint), methods=["POST"])
            for path in (GATEWAY_PATH, AGENT_PATH)
            for slash in ("", "/")  # clients post to either
            for route in create_jsonrpc_routes(handler, path + slash, context_builder=contexts)
            if isinstance(route, Route)
        ),
        Mount(GATEWAY_PATH + REST, app=RestJson(Router(routes=rest))),
        Mount(AGENT_PATH + REST, app=RestJson(Router(routes=rest))),
    ]


async def card(request: Request) -> Response:
    """A card as the directory has it now, with an ETag, so a client revalidates cheaply."""
    gateway: Gateway = request.app.state.gateway
    name = request.path_params.get("agent")
    base = str(request.base_url).rstrip("/")
    snapshot = await gateway.catalog.knowing(agent=name)
    if name is None:
        found = gateway_card(snapshot, base, _version())
        shown = [snapshot.agents[n] for n in snapshot.live_durable_agents()]
    elif snapshot.is_durable(name):
        found, shown = agent_card(snapshot.agents[name], base), [snapshot.agents[name]]
    else:
        raise ApiError(404, "unknown_agent", f"no durable agent {name!r} in the directory")
    body = agent_card_to_dict(found)
    tag = 'W/"' + hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest() + '"'
    headers = {"ETag": tag, "Cache-Control": CARD_CACHE, "Last-Modified": _modified(shown)}
    if tag in (request.headers.get("if-none-match") or "").split(", "):
        return Response(status_code=304, headers=headers)
    return JSONResponse(body, headers=headers)


class RestJson:
    """HTTP+JSON is JSON both ways. A body of another content type is answered 415
    (ContentTypeNotSupportedError). The SDK labels its answers `application/a2a+json`, as
    the specification's examples do; its section 11.1 says `application/json`, and so do
    the conformance kit and every JSON client."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        sends = scope["type"] == "http" and scope["method"] in ("POST", "PUT", "PATCH")
        if sends and (kind := _unlike_json(Headers(scope=scope))):
            refused = ContentTypeNotSupportedError(message=f"HTTP+JSON takes JSON, not {kind}")
            payload = build_rest_error_payload(refused)
            payload["error"]["code"] = UNSUPPORTED_MEDIA_TYPE  # the SDK says 400; A2A: 415
            await JSONResponse(payload, status_code=UNSUPPORTED_MEDIA_TYPE)(scope, receive, send)
            return

        async def relabelled(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    (name, value.replace(A2A_JSON, JSON.encode(), 1))
                    if name == b"content-type"
                    else (name, value)
                    for name, value in message["headers"]
                ]
            await send(message)

        await self._app(scope, receive, relabelled)


def _unlike_json(headers: Headers) -> str | None:
    """The content type of a body that is not JSON (None: JSON, or no body)."""
    kind = headers.get("content-type", JSON).split(";")[0].strip().lower()
    return None if kind == JSON or kind.endswith("+json") else kind


def _json_only(endpoint: Callable[[Request], Awaitable[Response]]) -> Endpoint:
    """JSON-RPC takes JSON: a body of another content type is answered
    ContentTypeNotSupportedError, and one over the gateway's limit is refused unread."""

    async def guarded(request: Request) -> Response:
        if kind := _unlike_json(request.headers):
            refused: A2AError = ContentTypeNotSupportedError(
                message=f"JSON-RPC takes {JSON}, not {kind}"
            )
            return JSONResponse(build_error_response(None, refused))
        declared = request.headers.get("content-length") or ""
        limit = request.app.state.gateway.settings.max_body_bytes
        if declared.isdigit() and int(declared) > limit:
            refused = InvalidRequestError(message=f"the body is larger than {limit} bytes")
            return JSONResponse(build_error_response(None, refused))
        return await endpoint(request)

    return guarded


def _modified(views: list[AgentView]) -> str:
    """When the newest of the agents on a card started as it announces itself now (a card
    changes with an agent's version, and a new version is a new start)."""
    starts = [datetime.fromisoformat(v.latest.started_at) for v in views]
    return format_datetime(max(starts, default=datetime.now(UTC)).astimezone(UTC), usegmt=True)


def _version() -> str:
    try:
        return metadata.version("hivebus")
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "0"
