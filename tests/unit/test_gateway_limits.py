"""Every request body of the gateway is bounded, whichever route reads it (the A2A SDK's
JSON-RPC and REST routes read bodies themselves): over the limit, 413 and nothing more is read."""

from __future__ import annotations

from collections.abc import Iterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from hivebus.gateway.errors import HANDLERS
from hivebus.gateway.limits import BodyLimit

LIMIT = 1000


async def whole(request: Request) -> JSONResponse:
    return JSONResponse({"size": len(await request.body())})


def client() -> TestClient:
    app = Starlette(
        routes=[Route("/a2a", whole, methods=["POST"])],
        middleware=[Middleware(BodyLimit, limit=LIMIT)],
        exception_handlers=HANDLERS,  # the gateway's: a catch-all 500 among them
    )
    return TestClient(app, raise_server_exceptions=False)


def chunks(total: int, size: int = 100) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        yield b"x" * min(size, total - sent)
        sent += size


def test_a_body_within_the_limit_is_read_whole() -> None:
    assert client().post("/a2a", content=b"x" * LIMIT).json() == {"size": LIMIT}
    assert client().post("/a2a", content=chunks(LIMIT)).json() == {"size": LIMIT}


def test_a_declared_or_chunked_body_over_the_limit_is_413() -> None:
    declared = client().post("/a2a", content=b"x" * (LIMIT + 1))
    chunked = client().post("/a2a", content=chunks(50 * LIMIT))
    for answer in (declared, chunked):
        assert answer.status_code == 413, answer.text
        assert answer.json()["error"]["code"] == "payload_too_large"
