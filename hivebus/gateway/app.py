"""The gateway's ASGI application (Starlette), served by uvicorn (`hivebus gateway`).

Starlette, because the A2A SDK's server mounts Starlette routes: A2A sits beside these
endpoints in the same application (`hivebus.gateway.a2a`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route, WebSocketRoute

from hivebus.gateway import api, dashboard, streams
from hivebus.gateway.a2a import a2a_routes
from hivebus.gateway.errors import HANDLERS
from hivebus.gateway.limits import BodyLimit
from hivebus.gateway.security import security_middleware
from hivebus.gateway.service import Gateway, Settings


def create_app(settings: Settings | None = None) -> Starlette:
    chosen = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        gateway = Gateway(chosen)
        await gateway.start()
        app.state.gateway = gateway
        try:
            yield
        finally:
            await gateway.stop()

    routes = [
        Route("/v1/tasks", api.create_task, methods=["POST"]),
        Route("/v1/tasks/{task_id}", api.get_task, methods=["GET"], name="task"),
        Route(
            "/v1/tasks/{task_id}/events", streams.sse_events, methods=["GET"], name="task_events"
        ),
        WebSocketRoute("/v1/tasks/{task_id}/ws", streams.ws_events),
        Route("/v1/tasks/{task_id}/cancel", api.cancel_task, methods=["POST"]),
        Route("/v1/tasks/{task_id}/signals/{name}", api.signal_task, methods=["POST"]),
        Route("/healthz", api.health, methods=["GET"]),
    ]
    routes += dashboard.routes()
    routes += a2a_routes()
    return Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers=HANDLERS,
        middleware=[
            *security_middleware(chosen.keys_file, chosen.cors_origins),
            Middleware(BodyLimit, limit=chosen.max_body_bytes),  # every route, A2A's too
        ],
    )
