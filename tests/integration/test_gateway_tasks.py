"""The gateway on the real broker and registry: tasks are durable runs, followed over HTTP.

The gateways are real `hivebus gateway` processes; the durable agents run in this test's
worker, each step taking a moment so that a task works for several seconds.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient

from hivebus import Agent, Context
from hivebus.contracts import Serde, register
from hivebus.dev import Endpoints
from hivebus.runtime.directory import read_directory
from hivebus.testing.stack import unique_name
from hivebus.testing.worker import running
from tests.integration.gateway_support import GatewayProcess, gateway, read_events
from tests.integration.runtime_contracts import Ping, Pong
from tests.integration.runtime_support import topics, until

STEPS = ("plan", "search", "write")
STEP_S = 1.0
FULL = ["0", "1", "2", "3", "3.end"]  # submitted, three steps, completed


@dataclass
class System:
    agent: str
    source: str
    gateway: GatewayProcess
    log_dir: Path


def task_agent(name: str, source: str, output: str) -> Agent:
    """Three slow steps; with payload "wait", then a wait for the signal "approval"."""
    agent = Agent(name, durable=True)

    async def slow(label: str) -> str:
        await asyncio.sleep(STEP_S)
        return label

    @agent.on(source, Ping, output=output)
    async def work(ping: Ping, ctx: Context) -> Pong:
        for label in STEPS:
            await ctx.step(label, slow, label)
        answer = {"by": "nobody"}
        if ping.payload == "wait":
            answer = await ctx.wait_for("approval")  # type: ignore[attr-defined]
            await ctx.step("after", slow, "after")
        return Pong(id=ping.id, key=ping.key, seq=ping.seq, handled_by=answer["by"])

    return agent


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("gateways")


@pytest.fixture(scope="module")
def gateway_a(stack: Endpoints, log_dir: Path) -> Iterator[GatewayProcess]:
    with gateway(log_dir, "--keepalive", "1", "--max-body-bytes", "65536") as running_gateway:
        yield running_gateway


@pytest.fixture(scope="module")
async def system(
    stack: Endpoints,
    admin: AdminClient,
    registry: SchemaRegistryClient,
    gateway_a: GatewayProcess,
    log_dir: Path,
) -> AsyncIterator[System]:
    source, output = topics(admin, "gateway")
    register(registry, Ping.contract(), source)  # what `hivebus topology apply` does
    name = unique_name("gateway-agent")
    serde = Serde(registry)
    async with running([task_agent(name, source, output)]):
        await until(lambda: name in read_directory(serde), 30)  # it has announced itself
        yield System(name, source, gateway_a, log_dir)


async def submit(client: httpx.AsyncClient, url: str, body: dict[str, Any]) -> httpx.Response:
    return await client.post(f"{url}/v1/tasks", json=body)


def ping(payload: str = "") -> dict[str, Any]:
    return {"id": "p1", "key": "k1", "seq": 1, "payload": payload}


async def test_a_task_is_accepted_before_its_run_ends_and_its_stream_shows_each_step_and_the_result(
    system: System,
) -> None:
    async with httpx.AsyncClient(timeout=60) as client:
        answer = await submit(client, system.gateway.url, {"agent": system.agent, "input": ping()})
        accepted_at = time.time()
        assert answer.status_code == 202, answer.text
        task = answer.json()
        assert answer.headers["location"] == task["status_url"]
        assert task["status_url"].endswith(f"/v1/tasks/{task['id']}")
        early = (await client.get(task["status_url"])).json()
        events = await read_events(client, task["events_url"])
        final = (await client.get(task["status_url"])).json()

    assert early["state"] in ("submitted", "working")
    assert [e["id"] for e in events] == FULL
    assert [e["event"] for e in events] == ["submitted", "step", "step", "step", "completed"]
    assert [e["data"]["name"] for e in events[1:4]] == list(STEPS)
    assert [e["data"]["value"] for e in events[1:4]] == list(STEPS)
    done = events[-1]["data"]
    assert done["state"] == "completed" and done["task"] == task["id"]
    assert done["result"] == {"id": "p1", "key": "k1", "seq": 1, "handled_by": "nobody"}
    assert final["state"] == "completed" and final["last_event_id"] == "3.end"
    assert [s["name"] for s in final["steps"]] == list(STEPS)
    assert final["result"] == done["result"]
    # The 202 came while the run still had seconds of work ahead of it.
    assert datetime.fromisoformat(final["run"]["updated_at"]).timestamp() > accepted_at + STEP_S


async def test_a_client_that_reconnects_with_last_event_id_gets_exactly_the_rest(
    system: System,
) -> None:
    async with httpx.AsyncClient(timeout=60) as client:
        task = (
            await submit(client, system.gateway.url, {"topic": system.source, "input": ping()})
        ).json()
        first = await read_events(client, task["events_url"], stop_after=2)
        rest = await read_events(client, task["events_url"], last_event_id=first[-1]["id"])
        again = await read_events(client, task["events_url"], last_event_id="3")
        whole = await read_events(client, task["events_url"])

    assert [e["id"] for e in first + rest] == FULL
    assert first + rest == whole
    assert [e["id"] for e in again] == ["3.end"]


async def test_a_second_replica_goes_on_with_the_stream_of_a_gateway_killed_mid_stream(
    system: System,
) -> None:
    with (
        gateway(system.log_dir) as doomed,
        gateway(system.log_dir) as other,
    ):
        async with httpx.AsyncClient(timeout=60) as client:
            task = (
                await submit(client, doomed.url, {"agent": system.agent, "input": ping()})
            ).json()
            first = await read_events(client, task["events_url"], stop_after=2)
            doomed.kill()
            moved = f"{other.url}/v1/tasks/{task['id']}/events"
            rest = await read_events(client, moved, last_event_id=first[-1]["id"])
            status = (await client.get(f"{other.url}/v1/tasks/{task['id']}")).json()

    assert [e["id"] for e in first + rest] == FULL
    assert status["state"] == "completed"


async def test_a_signal_over_http_wakes_a_waiting_run_and_cancel_ends_one(
    system: System,
) -> None:
    url = system.gateway.url
    async with httpx.AsyncClient(timeout=60) as client:
        task = (await submit(client, url, {"agent": system.agent, "input": ping("wait")})).json()
        waited = await read_events(client, task["events_url"], until_kind="waiting")
        waiting = (await client.get(task["status_url"])).json()
        keepalive = await _comment_on_a_quiet_stream(client, task["events_url"], waited[-1]["id"])
        sent = await client.post(
            f"{url}/v1/tasks/{task['id']}/signals/approval", json={"by": "ada"}
        )
        rest = await read_events(client, task["events_url"], last_event_id=waited[-1]["id"])

        other = (await submit(client, url, {"agent": system.agent, "input": ping("wait")})).json()
        await read_events(client, other["events_url"], until_kind="waiting")
        cancel = await client.post(f"{url}/v1/tasks/{other['id']}/cancel")
        ended = await read_events(client, other["events_url"], last_event_id="3.waiting")
        again = await client.post(f"{url}/v1/tasks/{other['id']}/cancel")

    assert waited[-1]["id"] == "3.waiting" and waited[-1]["data"]["signal"] == "approval"
    assert waited[-1]["data"]["state"] == "input-required"
    assert waiting["state"] == "input-required"
    assert keepalive.startswith(":")
    assert sent.status_code == 202, sent.text
    assert [(e["event"], e["data"]["state"]) for e in rest] == [
        ("step", "working"),
        ("step", "working"),
        ("completed", "completed"),
    ]
    assert [e["data"]["name"] for e in rest[:2]] == ["hivebus:wait:approval", "after"]
    assert rest[0]["data"]["value"] == {"by": "ada"}
    assert rest[-1]["data"]["result"]["handled_by"] == "ada"
    assert cancel.status_code == 202, cancel.text
    assert [(e["id"], e["event"]) for e in ended] == [("3.end", "canceled")]
    assert again.status_code == 409 and again.json()["error"]["code"] == "task_ended"


async def test_the_websocket_carries_the_same_events(system: System) -> None:
    async with httpx.AsyncClient(timeout=60) as client:
        task = (
            await submit(client, system.gateway.url, {"agent": system.agent, "input": ping()})
        ).json()
        socket_url = system.gateway.url.replace("http://", "ws://")
        messages = []
        async with websockets.connect(f"{socket_url}/v1/tasks/{task['id']}/ws") as socket:
            async for message in socket:
                messages.append(json.loads(message))
        resumed = []
        query = "?last_event_id=2"
        async with websockets.connect(f"{socket_url}/v1/tasks/{task['id']}/ws{query}") as socket:
            async for message in socket:
                resumed.append(json.loads(message))
        sse = await read_events(client, task["events_url"])

    assert [m["id"] for m in messages] == FULL
    assert messages == [e["data"] for e in sse]
    assert [m["id"] for m in resumed] == ["3", "3.end"]


async def test_bad_requests_are_answered_with_json_errors_naming_the_problem(
    system: System,
) -> None:
    url = system.gateway.url
    async with httpx.AsyncClient(timeout=60) as client:
        task = (await submit(client, url, {"agent": system.agent, "input": ping()})).json()
        answers = {
            "unknown agent": await submit(client, url, {"agent": "nobody-here", "input": {}}),
            "wrong type": await submit(
                client, url, {"agent": system.agent, "input": {**ping(), "seq": "one"}}
            ),
            "missing": await submit(client, url, {"agent": system.agent, "input": {"id": "x"}}),
            "unknown field": await submit(
                client, url, {"agent": system.agent, "input": {**ping(), "sequ": 1}}
            ),
            "too large": await submit(
                client, url, {"agent": system.agent, "input": {**ping("x" * 100_000)}}
            ),
            "malformed": await client.post(
                f"{url}/v1/tasks", content=b"{nope", headers={"content-type": "application/json"}
            ),
            "unknown task": await client.get(f"{url}/v1/tasks/no-such-task"),
            "unknown task stream": await client.get(f"{url}/v1/tasks/no-such-task/events"),
            "bad last id": await client.get(
                task["events_url"], headers={"Last-Event-ID": "nonsense"}
            ),
            "no route": await client.get(f"{url}/v2/nothing"),
        }

    expected = {
        "unknown agent": (404, "unknown_agent"),
        "wrong type": (400, "invalid_input"),
        "missing": (400, "invalid_input"),
        "unknown field": (400, "invalid_input"),
        "too large": (413, "payload_too_large"),
        "malformed": (400, "malformed_json"),
        "unknown task": (404, "unknown_task"),
        "unknown task stream": (404, "unknown_task"),
        "bad last id": (400, "invalid_last_event_id"),
        "no route": (404, "not_found"),
    }
    got = {what: (a.status_code, a.json()["error"]["code"]) for what, a in answers.items()}
    assert got == expected
    messages = {what: a.json()["error"]["message"] for what, a in answers.items()}
    assert system.agent in messages["unknown agent"] and "nobody-here" in messages["unknown agent"]
    assert answers["wrong type"].json()["error"]["field"] == "input.seq"
    assert "'seq'" in messages["wrong type"] and "int" in messages["wrong type"]
    assert "'key'" in messages["missing"] and "missing" in messages["missing"]
    assert "'sequ'" in messages["unknown field"] and "'seq'" in messages["unknown field"]
    assert not any("Traceback" in a.text for a in answers.values())


async def _comment_on_a_quiet_stream(client: httpx.AsyncClient, url: str, after: str) -> str:
    """The first line of a stream with nothing new to send: the keep-alive comment."""
    async with client.stream("GET", url, headers={"Last-Event-ID": after}) as response:
        async for line in response.aiter_lines():
            if line:
                return line
    return ""
