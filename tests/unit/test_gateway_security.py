"""The gateway's security middleware on a small Starlette app (no Kafka): 401/403, public
paths, WebSockets, CORS, body limits, and a 500 that is JSON with no traceback."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient, WebSocketDenialResponse
from starlette.websockets import WebSocket

from hivebus.errors import ConfigError
from hivebus.gateway.auth import principal_of, require
from hivebus.gateway.auth.keys import load_or_empty, new_key, revoke, save
from hivebus.gateway.body import json_body
from hivebus.gateway.errors import HANDLERS
from hivebus.gateway.security import check_origins, security_middleware

ORIGIN = "https://app.example.com"


async def agent_route(request: Request) -> JSONResponse:
    require(request, request.path_params["agent"])
    principal = request.state.principal
    return JSONResponse({"agent": request.path_params["agent"], "key": principal.name})


async def echo(request: Request) -> JSONResponse:
    return JSONResponse({"got": await json_body(request, 64)})


async def big(request: Request) -> JSONResponse:
    return JSONResponse({"got": await json_body(request, 10_000_000)})


async def boom(request: Request) -> JSONResponse:
    raise RuntimeError("secret internals /srv/app.py line 3")


async def public(request: Request) -> JSONResponse:
    found = principal_of(request)
    return JSONResponse({"ok": True, "key": found.name if found else None})


async def socket(websocket: WebSocket) -> None:
    await websocket.accept()
    require(websocket, "fraud-detector")
    await websocket.send_json({"key": websocket.state.principal.name})
    await websocket.close()


def app(keys: Path | None, origins: tuple[str, ...] = ()) -> Starlette:
    routes = [
        Route("/v1/agents/{agent}", agent_route, methods=["GET", "POST"]),
        Route("/echo", echo, methods=["POST"]),
        Route("/big", big, methods=["POST"]),
        Route("/boom", boom),
        Route("/healthz", public),
        Route("/.well-known/agent-card.json", public),
        Route("/dashboard", public),
        Route("/", public),
        Route("/v1/dashboard", public),
        WebSocketRoute("/ws", socket),
    ]
    return Starlette(
        routes=routes,
        exception_handlers=HANDLERS,
        middleware=security_middleware(keys, origins),
    )


@pytest.fixture
def keyfile(tmp_path: Path) -> Path:
    return tmp_path / "keys.json"


def make(path: Path, name: str, agents: list[str]) -> str:
    records = load_or_empty(path)
    key, record = new_key(name, agents, records)
    save(path, [*records, record])
    return key


@pytest.fixture
def fraud_key(keyfile: Path) -> str:
    return make(keyfile, "fraud-ui", ["fraud-*"])


@pytest.fixture
def client(keyfile: Path, fraud_key: str) -> Iterator[TestClient]:
    with TestClient(app(keyfile), raise_server_exceptions=False) as test_client:
        yield test_client


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_no_key_or_a_wrong_key_is_401_with_a_bearer_challenge(client: TestClient) -> None:
    missing = client.get("/v1/agents/fraud-detector")
    wrong = client.get("/v1/agents/fraud-detector", headers=bearer("hb_0123456789ab_nope"))
    basic = client.get("/v1/agents/fraud-detector", headers={"Authorization": "Basic eDp5"})

    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == 'Bearer realm="hivebus"'
    assert missing.json()["error"]["code"] == "unauthorized"
    assert "Authorization: Bearer" in missing.json()["error"]["message"]
    assert wrong.status_code == 401 and 'error="invalid_token"' in wrong.headers["www-authenticate"]
    assert basic.status_code == 401 and "invalid_request" in basic.headers["www-authenticate"]


def test_a_key_may_use_its_agents_only_and_403_names_the_agent(
    client: TestClient, fraud_key: str
) -> None:
    ok = client.get("/v1/agents/fraud-detector", headers=bearer(fraud_key))
    denied = client.post("/v1/agents/research", headers=bearer(fraud_key))

    assert ok.status_code == 200 and ok.json() == {"agent": "fraud-detector", "key": "fraud-ui"}
    assert denied.status_code == 403
    assert denied.json()["error"] == {
        "code": "forbidden",
        "message": "the API key 'fraud-ui' may not use agent 'research'",
        "agent": "research",
    }


def test_health_and_the_agent_card_are_public(client: TestClient, fraud_key: str) -> None:
    assert client.get("/healthz").json() == {"ok": True, "key": None}
    assert client.get("/.well-known/agent-card.json").status_code == 200
    assert client.get("/healthz", headers=bearer(fraud_key)).json()["key"] == "fraud-ui"


def test_the_dashboard_page_is_public_but_not_its_data(client: TestClient, fraud_key: str) -> None:
    # A browser opening the page cannot send a key; the page holds no data, its routes do.
    assert client.get("/dashboard", headers={"Accept": "text/html"}).status_code == 200
    assert client.get("/", headers={"Accept": "text/html"}).status_code == 200
    assert client.get("/v1/dashboard").status_code == 401
    assert client.get("/v1/dashboard", headers=bearer(fraud_key)).status_code == 200


def test_a_revoked_key_is_refused(client: TestClient, keyfile: Path, fraud_key: str) -> None:
    records, _ = revoke(load_or_empty(keyfile), "fraud-ui")
    save(keyfile, records)
    refused = None
    for _ in range(30):  # the store looks at the file at most once a second
        refused = client.get("/v1/agents/fraud-detector", headers=bearer(fraud_key))
        if refused.status_code == 401:
            break
        time.sleep(0.1)
    assert refused is not None and refused.status_code == 401
    assert "revoked" in refused.json()["error"]["message"]


def test_a_websocket_takes_the_key_as_a_header_or_access_token(
    client: TestClient, fraud_key: str
) -> None:
    with client.websocket_connect("/ws", headers=bearer(fraud_key)) as ws:
        assert ws.receive_json() == {"key": "fraud-ui"}
    with client.websocket_connect(f"/ws?access_token={fraud_key}") as ws:
        assert ws.receive_json() == {"key": "fraud-ui"}
    with pytest.raises(WebSocketDenialResponse) as caught, client.websocket_connect("/ws"):
        pass
    assert caught.value.status_code == 401
    assert caught.value.headers["www-authenticate"].startswith("Bearer")


def test_access_token_in_the_query_is_taken_for_event_streams_only(
    client: TestClient, fraud_key: str
) -> None:
    url = f"/v1/agents/fraud-detector?access_token={fraud_key}"
    assert client.get(url, headers={"Accept": "text/event-stream"}).status_code == 200
    assert client.get(url).status_code == 401
    assert client.post(url, headers={"Accept": "text/event-stream"}).status_code == 401


def test_without_a_key_file_the_gateway_is_open_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, "hivebus.gateway"):
        open_app = app(None)
    assert any("OPEN" in r.getMessage() for r in caplog.records)
    with TestClient(open_app) as test_client:
        answer = test_client.get("/v1/agents/research")
        assert answer.json() == {"agent": "research", "key": "anonymous"}
        with test_client.websocket_connect("/ws") as ws:
            assert ws.receive_json() == {"key": "anonymous"}


def test_cors_answers_preflights_for_the_configured_origin_only(
    keyfile: Path, fraud_key: str
) -> None:
    preflight = {"Access-Control-Request-Method": "POST"}
    headers = {**preflight, "Access-Control-Request-Headers": "authorization,content-type"}
    with TestClient(app(keyfile, (ORIGIN,))) as test_client:
        allowed = test_client.options("/v1/agents/x", headers={**headers, "Origin": ORIGIN})
        other = test_client.options(
            "/v1/agents/x", headers={**headers, "Origin": "https://evil.example"}
        )
        refused = test_client.get("/v1/agents/fraud-x", headers={"Origin": ORIGIN})
        served = test_client.get(
            "/v1/agents/fraud-x", headers={"Origin": ORIGIN, **bearer(fraud_key)}
        )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-origin" not in other.headers
    # A 401 a page can read, and a success it can read.
    assert refused.status_code == 401 and refused.headers["access-control-allow-origin"] == ORIGIN
    assert served.status_code == 200 and served.headers["access-control-allow-origin"] == ORIGIN
    with TestClient(app(keyfile)) as no_cors:
        plain = no_cors.options("/v1/agents/x", headers={**headers, "Origin": ORIGIN})
    assert "access-control-allow-origin" not in plain.headers


def test_cors_origins_are_checked() -> None:
    assert check_origins([ORIGIN, "http://localhost:3000", "*"])
    for bad in ("https://app.example.com/", "app.example.com", "https://a.com/path"):
        with pytest.raises(ConfigError, match="scheme://host"):
            check_origins([bad])


def test_an_internal_error_is_json_with_a_request_id_and_no_traceback(
    client: TestClient, fraud_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, "hivebus.gateway"):
        answer = client.get("/boom", headers=bearer(fraud_key))
    error = answer.json()["error"]
    assert answer.status_code == 500 and error["code"] == "internal"
    assert error["request_id"] == answer.headers["x-request-id"]
    assert error["request_id"] in error["message"]
    assert "Traceback" not in answer.text and "secret internals" not in answer.text
    logged = [r for r in caplog.records if error["request_id"] in r.getMessage()]
    assert logged and logged[0].exc_info is not None


def test_bodies_are_limited_however_sent_and_malformed_json_names_the_problem(
    client: TestClient, fraud_key: str
) -> None:
    auth = bearer(fraud_key)

    def chunks() -> Iterator[bytes]:
        yield b'{"a": "'
        yield b"x" * 100
        yield b'"}'

    chunked = client.post("/echo", content=chunks(), headers=auth)
    declared = client.post("/echo", content=b"x" * 65, headers=auth)
    malformed = client.post("/echo", content=b'{"a": }', headers=auth)
    nested = client.post("/big", content=b"[" * 200_000, headers=auth)
    fine = client.post("/echo", content=b'{"a": 1}', headers=auth)

    assert "content-length" not in {k.lower() for k in chunked.request.headers}
    assert chunked.status_code == 413 and chunked.json()["error"]["code"] == "payload_too_large"
    assert declared.status_code == 413
    assert malformed.status_code == 400
    assert malformed.json()["error"]["code"] == "malformed_json"
    assert "line 1 column 7" in malformed.json()["error"]["message"]
    assert nested.status_code == 400 and "nested too deeply" in nested.json()["error"]["message"]
    assert fine.json() == {"got": {"a": 1}}
