"""The dashboard's routes: the page, its document, and the document's live stream.

The page is one static file with its script inline. It needs no build step and loads
nothing from elsewhere, and the Content-Security-Policy it is served with says so: only
this script (by its hash) runs, and it talks only to this gateway. The data routes answer
what the caller's API key may see (snapshot.visible). Browsers cannot set a header on an
`EventSource`, so the page sends its key on the stream as `?access_token=`, which the
authentication middleware accepts on event streams.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import AsyncIterator
from importlib.resources import files

from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from hivebus.gateway.auth import allowed
from hivebus.gateway.dashboard.hub import Dashboard
from hivebus.gateway.dashboard.snapshot import MayUse, visible
from hivebus.gateway.service import Gateway

PAGE = (files("hivebus.gateway.dashboard") / "static" / "dashboard.html").read_text("utf-8")


def _policy(page: str) -> str:
    scripts = re.findall(r"<script>(.*?)</script>", page, flags=re.DOTALL)
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
        for s in scripts
    )
    return (
        f"default-src 'none'; script-src {hashes}; style-src 'unsafe-inline'; "
        "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    )


PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": _policy(PAGE),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the page's URL may carry ?access_token=
}


def routes() -> list[BaseRoute]:
    return [
        Route("/", to_page, methods=["GET"]),
        Route("/dashboard", page, methods=["GET"], name="dashboard"),
        Route("/v1/dashboard", document, methods=["GET"], name="dashboard_document"),
        Route("/v1/dashboard/events", events, methods=["GET"], name="dashboard_events"),
    ]


async def to_page(request: Request) -> Response:
    """`GET /`: to the dashboard, keeping the query (an `access_token`, say)."""
    target = request.url_for("dashboard").include_query_params(**request.query_params)
    return RedirectResponse(str(target), status_code=302)


async def page(request: Request) -> Response:
    """`GET /dashboard`: the page (static; the data comes from the routes below)."""
    return HTMLResponse(PAGE, headers=PAGE_HEADERS)


async def document(request: Request) -> JSONResponse:
    """`GET /v1/dashboard`: agents, the newest tasks and dead letters, now."""
    found = await dashboard(request).document()
    return JSONResponse(visible(found, _may_use(request)), headers={"Cache-Control": "no-cache"})


async def events(request: Request) -> EventSourceResponse:
    """`GET /v1/dashboard/events`: the same document now and after every change, as
    Server-Sent Events named `snapshot` (each one whole: a client never merges)."""
    hub, may_use = dashboard(request), _may_use(request)
    gateway: Gateway = request.app.state.gateway

    async def stream() -> AsyncIterator[ServerSentEvent]:
        async for version, found in hub.updates():
            data = json.dumps(visible(found, may_use))
            yield ServerSentEvent(data=data, event="snapshot", id=str(version))

    return EventSourceResponse(
        stream(), ping=gateway.settings.keepalive_s, headers={"Cache-Control": "no-cache"}
    )


def dashboard(request: Request) -> Dashboard:
    """This gateway's dashboard, made on first use."""
    found = getattr(request.app.state, "dashboard", None)
    if not isinstance(found, Dashboard):
        found = request.app.state.dashboard = Dashboard(request.app.state.gateway)
    return found


def _may_use(request: Request) -> MayUse:
    return lambda agent: allowed(request, agent)
