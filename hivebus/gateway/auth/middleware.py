"""Authentication in front of every route: a pure ASGI middleware, so it guards WebSockets
and whatever is mounted into the application later (A2A's JSON-RPC, a dashboard) alike.

With a key store, each request but those to `PUBLIC_PATHS` needs `Authorization: Bearer
<key>`; a missing or refused key is answered 401 with `WWW-Authenticate: Bearer` (on a
WebSocket, as the handshake's HTTP answer where the server supports that, else a close
with 4401). Browsers cannot set headers on a WebSocket or an `EventSource`, so those two
may carry the key as `?access_token=` instead. Without a key store every caller is
`ANONYMOUS`, who may use every agent. Either way the principal is put in the scope's state
for `require` (permissions.py).
"""

from __future__ import annotations

from starlette.datastructures import Headers, QueryParams
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from hivebus.gateway.auth.principal import ANONYMOUS, STATE_KEY, Principal
from hivebus.gateway.auth.store import KeyStore, Refusal

# `/healthz` for probes; the A2A agent card is public by A2A's convention; the dashboard's
# page (and `/`, which redirects to it) holds no data, and a browser opening it cannot send
# a key: the page asks for one and sends it on its data routes.
PUBLIC_PATHS = frozenset({"/healthz", "/.well-known/agent-card.json", "/dashboard", "/"})
CARD_SUFFIX = "/.well-known/agent-card.json"  # each agent's A2A card too: cards are public
UNAUTHORIZED_CLOSE = 4401
REALM = 'Bearer realm="hivebus"'


class AuthMiddleware:
    def __init__(
        self, app: ASGIApp, keys: KeyStore | None, public: frozenset[str] = PUBLIC_PATHS
    ) -> None:
        self.app, self.keys, self.public = app, keys, public

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        if self.keys is None:
            state[STATE_KEY] = ANONYMOUS
            await self.app(scope, receive, send)
            return
        found = self._principal(scope, self.keys)
        if isinstance(found, Principal):
            state[STATE_KEY] = found
        elif not self._public(_route_path(scope), scope):
            await _refuse(scope, receive, send, found)
            return
        await self.app(scope, receive, send)

    def _public(self, path: str, scope: Scope) -> bool:
        if path in self.public:
            return True
        return scope["type"] == "http" and scope["method"] == "GET" and path.endswith(CARD_SUFFIX)

    @staticmethod
    def _principal(scope: Scope, keys: KeyStore) -> Principal | Refusal:
        headers = Headers(scope=scope)
        given = headers.get("authorization")
        if given is not None:
            scheme, _, key = given.partition(" ")
            if scheme.lower() != "bearer" or not key.strip():
                message = "expected the header 'Authorization: Bearer <API key>'"
                return Refusal(message, "invalid_request")
            return keys.verify(key.strip())
        if _may_use_query(scope, headers):
            token = QueryParams(scope.get("query_string", b"")).get("access_token")
            if token:
                return keys.verify(token)
        return Refusal(
            "this gateway needs an API key: send 'Authorization: Bearer <key>' "
            "(keys come from `hivebus gateway keys create`)",
            None,
        )


def _route_path(scope: Scope) -> str:
    """The path the router matches: without the `root_path` a proxy may mount the app at."""
    path, root = str(scope["path"]), str(scope.get("root_path", ""))
    return path[len(root) :] if root and path.startswith(root) else path


def _may_use_query(scope: Scope, headers: Headers) -> bool:
    """A WebSocket, or an event stream (`EventSource` sends `Accept: text/event-stream`)."""
    if scope["type"] == "websocket":
        return True
    return scope["method"] == "GET" and "text/event-stream" in headers.get("accept", "")


async def _refuse(scope: Scope, receive: Receive, send: Send, refusal: Refusal) -> None:
    challenge = REALM if refusal.error is None else f'{REALM}, error="{refusal.error}"'
    response = JSONResponse(
        {"error": {"code": "unauthorized", "message": refusal.message}},
        status_code=401,
        headers={"WWW-Authenticate": challenge},
    )
    # On a WebSocket, Starlette sends the response as the handshake's answer.
    if scope["type"] == "http" or "websocket.http.response" in scope.get("extensions", {}):
        await response(scope, receive, send)
    else:
        close = {"type": "websocket.close", "code": UNAUTHORIZED_CLOSE, "reason": "unauthorized"}
        await send(close)
