"""The gateway's security on the real broker and registry: API keys from a key file made by
`hivebus gateway keys`, per-agent permissions on submitting and on every read or action of a
task, WebSockets, revocation seen by a running gateway, CORS, and an internal error that is
answered as JSON with a request id and no traceback."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import websockets
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hivebus import Agent, Context
from hivebus.contracts import Serde, register
from hivebus.dev import Endpoints
from hivebus.gateway import Settings, create_app
from hivebus.runtime.directory import read_directory
from hivebus.testing.stack import unique_name
from hivebus.testing.worker import running
from tests.integration.gateway_support import GatewayProcess, gateway, read_events
from tests.integration.ports import free_ports
from tests.integration.runtime_contracts import Ping, Pong
from tests.integration.runtime_support import topics, until

ORIGIN = "https://app.example.com"
FULL = ["0", "1", "1.end"]  # submitted, one step, completed


@dataclass
class System:
    agent: str
    gateway: GatewayProcess
    keys: Path
    allowed: str  # may use the agent
    other: str  # a valid key for other agents only


def quick_agent(name: str, source: str, output: str) -> Agent:
    agent = Agent(name, durable=True)

    async def work(label: str) -> str:
        await asyncio.sleep(0.2)
        return label

    @agent.on(source, Ping, output=output)
    async def handle(ping: Ping, ctx: Context) -> Pong:
        await ctx.step("work", work, "work")
        return Pong(id=ping.id, key=ping.key, seq=ping.seq, handled_by="auth")

    return agent


def keys_command(keys: Path, *args: str) -> str:
    """`hivebus gateway keys ...` as a user runs it; its stdout."""
    command = [sys.executable, "-m", "hivebus.cli", "gateway", "keys", *args, "--file", str(keys)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.strip()


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def ping() -> dict[str, Any]:
    return {"id": "p1", "key": "k1", "seq": 1, "payload": ""}


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("auth-gateways")


@pytest.fixture(scope="module")
async def system(
    stack: Endpoints, admin: AdminClient, registry: SchemaRegistryClient, log_dir: Path
) -> AsyncIterator[System]:
    source, output = topics(admin, "gateway-auth")
    register(registry, Ping.contract(), source)
    name = unique_name("gateway-auth")
    keys = log_dir / "keys.json"
    allowed = keys_command(keys, "create", "ui", "--agents", f"fraud-*,{name}")
    other = keys_command(keys, "create", "fraud-only", "--agents", "fraud-*")
    with gateway(log_dir, "--keys", str(keys), "--cors-origin", ORIGIN) as process:
        async with running([quick_agent(name, source, output)]):
            await until(lambda: name in read_directory(Serde(registry)), 30)
            yield System(name, process, keys, allowed, other)


async def test_requests_without_a_valid_key_are_401_and_health_is_open(system: System) -> None:
    url = system.gateway.url
    async with httpx.AsyncClient(timeout=60) as client:
        body = {"agent": system.agent, "input": ping()}
        missing = await client.post(f"{url}/v1/tasks", json=body)
        wrong = await client.post(
            f"{url}/v1/tasks", json=body, headers=bearer(system.allowed[:-2] + "xx")
        )
        unknown = await client.get(f"{url}/v1/tasks/whatever", headers=bearer("hb_nonsense"))
        no_route = await client.get(f"{url}/v2/nothing")
        health = await client.get(f"{url}/healthz")

    for answer in (missing, wrong, unknown, no_route):
        assert answer.status_code == 401, answer.text
        assert answer.headers["www-authenticate"].startswith("Bearer")
        assert answer.json()["error"]["code"] == "unauthorized"
    assert 'error="invalid_token"' in wrong.headers["www-authenticate"]
    assert health.status_code == 200 and health.json() == {"ok": True}


async def test_a_key_submits_to_its_agent_only_and_reads_its_tasks_stream(system: System) -> None:
    url = system.gateway.url
    async with httpx.AsyncClient(timeout=60) as client:
        body = {"agent": system.agent, "input": ping()}
        denied = await client.post(f"{url}/v1/tasks", json=body, headers=bearer(system.other))
        accepted = await client.post(f"{url}/v1/tasks", json=body, headers=bearer(system.allowed))
        assert accepted.status_code == 202, accepted.text
        task = accepted.json()
        client.headers.update(bearer(system.allowed))
        events = await read_events(client, task["events_url"])
        status = await client.get(task["status_url"])

    assert denied.status_code == 403
    error = denied.json()["error"]
    assert error["code"] == "forbidden" and error["agent"] == system.agent
    assert f"'{system.agent}'" in error["message"] and "'fraud-only'" in error["message"]
    assert [e["id"] for e in events] == FULL
    assert status.json()["state"] == "completed"


async def test_a_key_without_the_agent_may_not_read_cancel_or_signal_its_tasks(
    system: System,
) -> None:
    url = system.gateway.url
    async with httpx.AsyncClient(timeout=60) as client:
        body = {"agent": system.agent, "input": ping()}
        task = (
            await client.post(f"{url}/v1/tasks", json=body, headers=bearer(system.allowed))
        ).json()
        other = bearer(system.other)
        base = f"{url}/v1/tasks/{task['id']}"
        answers = {
            "status": await client.get(base, headers=other),
            "events": await client.get(f"{base}/events", headers=other),
            "cancel": await client.post(f"{base}/cancel", headers=other),
            "signal": await client.post(f"{base}/signals/approval", json={}, headers=other),
            "unknown task": await client.get(f"{url}/v1/tasks/no-such-task", headers=other),
        }
        # An EventSource, which cannot set headers, passes the key in the query.
        query = f"{base}/events?access_token={system.allowed}"
        events = await read_events(client, query)

    assert {what: a.status_code for what, a in answers.items()} == {
        "status": 403,
        "events": 403,
        "cancel": 403,
        "signal": 403,
        "unknown task": 404,
    }
    assert all(system.agent in a.json()["error"]["message"] for a in list(answers.values())[:4])
    assert [e["id"] for e in events] == FULL


async def test_a_websocket_needs_a_key_in_a_header_or_the_query(system: System) -> None:
    async with httpx.AsyncClient(timeout=60) as client:
        task = (
            await client.post(
                f"{system.gateway.url}/v1/tasks",
                json={"agent": system.agent, "input": ping()},
                headers=bearer(system.allowed),
            )
        ).json()
    socket = system.gateway.url.replace("http://", "ws://") + f"/v1/tasks/{task['id']}/ws"

    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(socket):
            pass
    async with websockets.connect(socket, additional_headers=bearer(system.allowed)) as connection:
        by_header = [json.loads(m) async for m in connection]
    async with websockets.connect(f"{socket}?access_token={system.allowed}") as connection:
        by_query = [json.loads(m) async for m in connection]
    async with websockets.connect(socket, additional_headers=bearer(system.other)) as connection:
        denial = json.loads(await connection.recv())
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await connection.recv()

    assert refused.value.response.status_code == 401
    assert [m["id"] for m in by_header] == FULL and by_query == by_header
    assert denial["error"]["code"] == "forbidden" and system.agent in denial["error"]["message"]
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_a_revoked_key_is_refused_by_the_running_gateway(system: System) -> None:
    doomed = keys_command(system.keys, "create", "doomed", "--agents", "*")
    url = f"{system.gateway.url}/v1/tasks/no-such-task"
    async with httpx.AsyncClient(timeout=60) as client:
        before = await client.get(url, headers=bearer(doomed))  # known, so past the 401
        keys_command(system.keys, "revoke", "doomed")
        for _ in range(50):
            after = await client.get(url, headers=bearer(doomed))
            if after.status_code == 401:
                break
            await asyncio.sleep(0.1)
        still = await client.get(url, headers=bearer(system.allowed))

    assert before.status_code == 404
    assert after.status_code == 401 and "revoked" in after.json()["error"]["message"]
    assert still.status_code == 404
    listed = keys_command(system.keys, "list")
    assert "doomed" in listed and "revoked" in listed and doomed not in listed


async def test_cors_preflight_is_answered_for_the_configured_origin_only(system: System) -> None:
    asked = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization",
    }
    url = f"{system.gateway.url}/v1/tasks"
    async with httpx.AsyncClient(timeout=60) as client:
        allowed = await client.options(url, headers={**asked, "Origin": ORIGIN})
        other = await client.options(url, headers={**asked, "Origin": "https://evil.example"})
        refused = await client.get(f"{url}/x", headers={"Origin": ORIGIN})

    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    assert other.status_code == 400 and "access-control-allow-origin" not in other.headers
    assert refused.status_code == 401  # the page may read why
    assert refused.headers["access-control-allow-origin"] == ORIGIN


@pytest.fixture
async def failing_gateway(system: System) -> AsyncIterator[str]:
    """The gateway's app, in this process, with one route that fails (nothing in the real
    routes fails on purpose)."""

    async def boom(request: Request) -> JSONResponse:
        raise RuntimeError("internal detail /srv/secret.py")

    app = create_app(Settings(keys_file=system.keys))
    app.router.routes.append(Route("/v1/boom", boom))
    [port] = free_ports(1)
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="critical"))
    serving = asyncio.create_task(server.serve())
    await until(lambda: server.started, 60)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving


async def test_an_internal_error_is_json_with_a_request_id_and_no_traceback(
    system: System, failing_gateway: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with httpx.AsyncClient(timeout=60) as client:
        with caplog.at_level(logging.ERROR, "hivebus.gateway"):
            answer = await client.get(f"{failing_gateway}/v1/boom", headers=bearer(system.allowed))
        refused = await client.get(f"{failing_gateway}/v1/boom")

    assert answer.status_code == 500
    error = answer.json()["error"]
    assert error["code"] == "internal" and error["request_id"] in error["message"]
    assert answer.headers["x-request-id"] == error["request_id"]
    assert "Traceback" not in answer.text and "secret.py" not in answer.text
    assert any(
        error["request_id"] in r.getMessage() and r.exc_info for r in caplog.records
    )  # the log has it
    assert refused.status_code == 401


async def test_a2a_honours_the_keys_permissions_and_its_cards_are_public(system: System) -> None:
    url, agent = system.gateway.url, system.agent
    endpoint = f"{url}/a2a/agents/{agent}"

    def call(method: str, params: Any) -> dict[str, Any]:
        return {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}

    message = {"message": {"messageId": unique_name("m"), "role": "ROLE_USER",
                           "parts": [{"data": ping()}]}}  # fmt: skip
    version = {"A2A-Version": "1.0"}
    async with httpx.AsyncClient(timeout=60, headers=version) as client:
        card = await client.get(f"{endpoint}/.well-known/agent-card.json")
        anonymous = await client.post(endpoint, json=call("SendMessage", message))
        refused = await client.post(
            endpoint, json=call("SendMessage", message), headers=bearer(system.other)
        )
        by_skill = await client.post(
            f"{url}/a2a",
            json=call(
                "SendMessage", {"message": {**message["message"], "metadata": {"skill": agent}}}
            ),
            headers=bearer(system.other),
        )
        sent = await client.post(
            endpoint, json=call("SendMessage", message), headers=bearer(system.allowed)
        )
        task_id = sent.json()["result"]["task"]["id"]
        own = await client.post(
            endpoint, json=call("GetTask", {"id": task_id}), headers=bearer(system.allowed)
        )
        other = await client.post(
            f"{url}/a2a", json=call("GetTask", {"id": task_id}), headers=bearer(system.other)
        )
        listed = await client.post(
            f"{url}/a2a", json=call("ListTasks", {}), headers=bearer(system.other)
        )

    assert card.status_code == 200 and card.json()["name"], card.text
    assert anonymous.status_code == 401
    for answer in (refused, by_skill):
        error = answer.json()["error"]
        [detail] = error["data"]  # the SDK's error details: our data as their metadata
        assert detail["metadata"] == {"code": "forbidden", "agent": agent}, answer.text
        assert error["code"] == -32600 and agent in error["message"]
    assert own.json()["result"]["id"] == task_id
    assert other.json()["error"]["code"] == -32001  # not found for a key without the agent
    assert task_id not in {task["id"] for task in listed.json()["result"].get("tasks", [])}


async def test_an_unknown_agent_404_lists_only_the_agents_the_key_may_use(system: System) -> None:
    body = {"agent": "fraud-nobody-here", "input": ping()}
    async with httpx.AsyncClient(timeout=60) as client:
        limited = await client.post(
            f"{system.gateway.url}/v1/tasks", json=body, headers=bearer(system.other)
        )
        full = await client.post(
            f"{system.gateway.url}/v1/tasks", json=body, headers=bearer(system.allowed)
        )

    assert limited.status_code == full.status_code == 404
    assert system.agent in full.json()["error"]["known_agents"]
    assert system.agent not in limited.json()["error"]["known_agents"]
    assert system.agent not in limited.json()["error"]["message"]
