"""A2A 1.0 through the gateway, on the real broker and registry, with the SDK's own client.

The gateways are real `hivebus gateway` processes; the durable agents run in this test's
worker: one with a contract of its own (Ping -> Pong, three slow steps, and a wait for the
signal "approval" when asked), and the conformance kit's agent, which takes A2A messages as
they are and answers with an `A2AReply`.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from a2a.client import A2ACardResolver, Client, ClientConfig, create_client
from a2a.types import (
    AgentCard,
    CancelTaskRequest,
    GetTaskRequest,
    ListTasksRequest,
    Message,
    Part,
    Role,
    SendMessageRequest,
    StreamResponse,
    SubscribeToTaskRequest,
    Task,
    TaskState,
)
from a2a.utils.errors import InvalidParamsError, TaskNotCancelableError, TaskNotFoundError
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient
from google.protobuf import json_format

from hivebus import Agent, Context
from hivebus.contracts import Serde, register
from hivebus.dev import Endpoints
from hivebus.gateway.a2a import A2AMessage
from hivebus.runtime.directory import read_directory
from hivebus.testing.stack import unique_name
from hivebus.testing.worker import running
from tests.integration.agents.a2a_tck import tck_agent
from tests.integration.gateway_support import GatewayProcess, gateway
from tests.integration.runtime_contracts import Ping, Pong
from tests.integration.runtime_support import topics, until

STEPS = ("plan", "search", "write")
STEP_S = 1.0
# The ids of the gateway events an A2A task's events come from: submitted, 3 steps, the end
# (its artifact and its final status).
FULL = ["0", "1", "2", "3", "3.end", "3.end"]
JSONRPC, HTTP_JSON = "JSONRPC", "HTTP+JSON"
S = TaskState


@dataclass
class System:
    agent: str  # takes Ping, as data parts
    speaker: str  # takes A2A messages as they are
    gateway: GatewayProcess
    log_dir: Path


def task_agent(name: str, source: str, output: str) -> Agent:
    """Three slow steps; with payload "wait", then a wait for the signal "approval"."""
    agent = Agent(name, durable=True, description="pings, slowly")

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
        return Pong(id=ping.id, key=ping.key, seq=ping.seq, handled_by=answer["by"])

    return agent


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("a2a-gateways")


@pytest.fixture(scope="module")
def gateway_a(stack: Endpoints, log_dir: Path) -> Iterator[GatewayProcess]:
    with gateway(log_dir, "--keepalive", "1") as running_gateway:
        yield running_gateway


@pytest.fixture(scope="module")
async def system(
    stack: Endpoints,
    admin: AdminClient,
    registry: SchemaRegistryClient,
    gateway_a: GatewayProcess,
    log_dir: Path,
) -> AsyncIterator[System]:
    source, output = topics(admin, "a2a")
    speaking, replies = topics(admin, "a2a-speaks")
    register(registry, Ping.contract(), source)  # what `hivebus topology apply` does
    register(registry, A2AMessage.contract(), speaking)
    name, speaker = unique_name("a2a-agent"), unique_name("a2a-speaker")
    serde = Serde(registry)
    agents = [task_agent(name, source, output), tck_agent(speaker, speaking, replies)]
    async with running(agents):
        await until(lambda: {name, speaker} <= set(read_directory(serde)), 30)
        yield System(name, speaker, gateway_a, log_dir)


@asynccontextmanager
async def a2a_client(
    url: str, agent: str, *, streaming: bool = True, binding: str = JSONRPC
) -> AsyncIterator[Client]:
    """The SDK's client for `agent`'s endpoint, made from its card."""
    async with httpx.AsyncClient(timeout=60) as http:
        config = ClientConfig(
            streaming=streaming, supported_protocol_bindings=[binding], httpx_client=http
        )
        client = await create_client(f"{url}/a2a/agents/{agent}", config)
        try:
            yield client
        finally:
            await client.close()


def ping_message(payload: str = "", **ids: str) -> SendMessageRequest:
    data = Part()
    json_format.ParseDict({"id": "p1", "key": "k1", "seq": 1, "payload": payload}, data.data)
    return request(Message(message_id=str(uuid.uuid4()), parts=[data], **ids))


def text_message(message_id: str, text: str = "hello", **ids: str) -> SendMessageRequest:
    unique = f"{message_id}-{uuid.uuid4().hex[:8]}"
    return request(Message(message_id=unique, parts=[Part(text=text)], **ids))


def request(message: Message) -> SendMessageRequest:
    message.role = Role.ROLE_USER
    return SendMessageRequest(message=message)


async def sent(client: Client, message: SendMessageRequest) -> list[StreamResponse]:
    return [response async for response in client.send_message(message)]


def event_id(response: StreamResponse) -> str:
    """The gateway event an A2A event comes from (its metadata's hivebusEvent.id)."""
    kind = response.WhichOneof("payload")
    assert kind in ("status_update", "artifact_update"), kind
    metadata = getattr(response, kind).metadata
    return str(json_format.MessageToDict(metadata)["hivebusEvent"]["id"])


def kinds(responses: list[StreamResponse]) -> list[str]:
    return [str(r.WhichOneof("payload")) for r in responses]


def pong_of(task: Task) -> dict[str, Any]:
    [artifact] = task.artifacts
    value: dict[str, Any] = json_format.MessageToDict(artifact.parts[0].data)
    return value


async def test_each_durable_agent_has_a_card_and_the_gateway_lists_them_as_skills(
    system: System,
) -> None:
    url = system.gateway.url
    async with httpx.AsyncClient(timeout=30) as http:
        card = await A2ACardResolver(http, f"{url}/a2a/agents/{system.agent}").get_agent_card()
        speaker = await A2ACardResolver(http, f"{url}/a2a/agents/{system.speaker}").get_agent_card()
        own = await _gateway_card_with(http, url, {system.agent, system.speaker})
        unknown = await http.get(f"{url}/a2a/agents/nobody-here/.well-known/agent-card.json")
        cached = await http.get(f"{url}/.well-known/agent-card.json")
        again = await http.get(
            f"{url}/.well-known/agent-card.json", headers={"If-None-Match": cached.headers["etag"]}
        )

    assert card.name == system.agent and card.description == "pings, slowly"
    assert [(i.protocol_binding, i.url) for i in card.supported_interfaces] == [
        (JSONRPC, f"{url}/a2a/agents/{system.agent}"),
        (HTTP_JSON, f"{url}/a2a/agents/{system.agent}/rest"),
    ]
    assert card.capabilities.streaming and not card.capabilities.push_notifications
    assert [s.id for s in card.skills] == [system.agent]
    assert list(card.default_input_modes) == ["application/json"]
    assert "text/plain" in speaker.default_input_modes  # it takes A2A messages as they are
    assert {system.agent, system.speaker} <= {s.id for s in own.skills}
    assert own.supported_interfaces[0].url == f"{url}/a2a"
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "unknown_agent"
    assert again.status_code == 304 and "max-age" in cached.headers["cache-control"]


async def _gateway_card_with(http: httpx.AsyncClient, url: str, skills: set[str]) -> AgentCard:
    """The gateway's card once it lists `skills` (it is as fresh as the directory read)."""
    for _ in range(40):
        card = await A2ACardResolver(http, url).get_agent_card()
        if skills <= {s.id for s in card.skills}:
            return card
        await asyncio.sleep(0.5)
    return card


async def test_send_message_runs_a_task_to_its_end_and_get_and_list_read_it_from_kafka(
    system: System,
) -> None:
    url = system.gateway.url
    context = f"ctx-{uuid.uuid4().hex[:8]}"
    async with a2a_client(url, system.agent, streaming=False) as client:
        [answer] = await sent(client, ping_message(context_id=context))
        task = answer.task
        got = await client.get_task(GetTaskRequest(id=task.id))
        listed = await client.list_tasks(ListTasksRequest(context_id=context))
        other = await client.list_tasks(ListTasksRequest(context_id="ctx-nobody"))
        short = await client.get_task(GetTaskRequest(id=task.id, history_length=0))

    assert task.status.state == S.TASK_STATE_COMPLETED and task.context_id == context
    assert pong_of(task) == {"id": "p1", "key": "k1", "seq": 1, "handled_by": "nobody"}
    assert task.artifacts[0].name == Pong.fullname
    assert got == task  # what the SDK folded while it ran is what Kafka says afterwards
    assert [t.id for t in listed.tasks] == [task.id] and listed.next_page_token == ""
    assert not listed.tasks[0].artifacts  # without include_artifacts
    assert list(other.tasks) == [] and not short.history


async def test_send_streaming_message_streams_the_run_step_by_step(system: System) -> None:
    async with a2a_client(system.gateway.url, system.agent) as client:
        events = await sent(client, ping_message())

    assert kinds(events) == ["task", *["status_update"] * 3, "artifact_update", "status_update"]
    assert events[0].task.status.state == S.TASK_STATE_SUBMITTED
    updates = [e.status_update for e in events[1:4]]
    assert [u.status.state for u in updates] == [S.TASK_STATE_WORKING] * 3
    steps = [json_format.MessageToDict(u.metadata)["hivebusEvent"]["step"] for u in updates]
    assert [s["name"] for s in steps] == list(STEPS)
    assert [event_id(e) for e in events[1:]] == FULL[1:]
    assert events[-1].status_update.status.state == S.TASK_STATE_COMPLETED
    stamps = [u.status.timestamp.ToNanoseconds() for u in updates]
    assert stamps == sorted(stamps)


async def test_a_run_waiting_for_a_signal_is_input_required_and_a_message_answers_it(
    system: System,
) -> None:
    async with a2a_client(system.gateway.url, system.agent) as client:
        waited = await sent(client, ping_message("wait"))
        task_id = waited[0].task.id
        waiting = await client.get_task(GetTaskRequest(id=task_id))
        answer = Part()
        json_format.ParseDict({"by": "ada"}, answer.data)
        follow = request(Message(message_id="answer-1", task_id=task_id, parts=[answer]))
        rest = await sent(client, follow)
        done = await client.get_task(GetTaskRequest(id=task_id))

    assert waited[-1].status_update.status.state == S.TASK_STATE_INPUT_REQUIRED
    asked = waited[-1].status_update.status.message
    assert asked.role == Role.ROLE_AGENT and "approval" in asked.parts[0].text
    assert waiting.status.state == S.TASK_STATE_INPUT_REQUIRED
    assert waiting.status.message == asked
    assert rest[-1].status_update.status.state == S.TASK_STATE_COMPLETED
    assert pong_of(done)["handled_by"] == "ada"
    assert [m.role for m in done.history] == [Role.ROLE_USER, Role.ROLE_AGENT, Role.ROLE_USER]
    assert json_format.MessageToDict(done.history[2].parts[0].data) == {"by": "ada"}


async def test_cancel_ends_a_waiting_task_and_an_ended_one_is_not_cancelable(
    system: System,
) -> None:
    async with a2a_client(system.gateway.url, system.agent, streaming=False) as client:
        [waiting] = await sent(client, ping_message("wait"))
        cancelled = await client.cancel_task(CancelTaskRequest(id=waiting.task.id))
        got = await client.get_task(GetTaskRequest(id=waiting.task.id))
        with pytest.raises(TaskNotCancelableError):
            await client.cancel_task(CancelTaskRequest(id=waiting.task.id))
        with pytest.raises(TaskNotFoundError):
            await client.get_task(GetTaskRequest(id="no-such-task"))

    assert waiting.task.status.state == S.TASK_STATE_INPUT_REQUIRED
    assert cancelled.status.state == S.TASK_STATE_CANCELED
    assert got.status.state == S.TASK_STATE_CANCELED


async def test_a_second_replica_resubscribes_to_a_task_whose_gateway_was_killed(
    system: System,
) -> None:
    with gateway(system.log_dir) as doomed, gateway(system.log_dir) as other:
        async with a2a_client(doomed.url, system.agent) as first:
            seen: list[StreamResponse] = []
            async for response in first.send_message(ping_message()):
                seen.append(response)
                if len(seen) == 2:  # the task and its first step
                    break
            doomed.kill()
        async with a2a_client(other.url, system.agent, binding=HTTP_JSON) as second:
            task_id = seen[0].task.id
            resumed = [r async for r in second.subscribe(SubscribeToTaskRequest(id=task_id))]

    snapshot = resumed[0].task
    assert kinds(seen) == ["task", "status_update"] and event_id(seen[1]) == "1"
    assert snapshot.id == task_id and snapshot.status.state == S.TASK_STATE_WORKING
    at = json_format.MessageToDict(snapshot.metadata)["hivebusEvent"]["id"]
    after = [event_id(r) for r in resumed[1:]]
    # Nothing missing, nothing twice: the snapshot is where the run was, then the rest.
    assert at in FULL[1:4] and after == FULL[FULL.index(at) + 1 :]
    assert resumed[-1].status_update.status.state == S.TASK_STATE_COMPLETED


async def test_an_agent_that_speaks_a2a_gets_the_message_and_answers_with_parts(
    system: System,
) -> None:
    async with a2a_client(system.gateway.url, system.speaker, binding=HTTP_JSON) as client:
        complete = await sent(client, text_message("tck-complete-task"))
        file = await sent(client, text_message("tck-artifact-file"))
        chunked = await sent(client, text_message("tck-stream-artifact-chunked"))
        rejected = await sent(client, text_message("tck-reject-task"))
        task = await client.get_task(GetTaskRequest(id=chunked[0].task.id))

    assert complete[-1].status_update.status.message.parts[0].text == "Hello from TCK"
    [artifact] = [r.artifact_update.artifact for r in file if r.HasField("artifact_update")]
    assert (artifact.parts[0].raw, artifact.parts[0].filename) == (b"tck", "output.txt")
    chunks = [r.artifact_update for r in chunked if r.HasField("artifact_update")]
    assert [(c.append, c.last_chunk) for c in chunks] == [(False, False), (True, True)]
    assert [p.text for p in task.artifacts[0].parts] == ["chunk-1 ", "chunk-2"]
    assert rejected[-1].status_update.status.state == S.TASK_STATE_REJECTED


async def test_a_quick_answer_is_a_message_and_the_gateways_endpoint_routes_by_skill(
    system: System,
) -> None:
    url = system.gateway.url
    async with a2a_client(url, system.speaker, streaming=False) as client:
        [quick] = await sent(client, text_message("tck-message-response"))
    async with httpx.AsyncClient(timeout=60) as http:
        card = await _gateway_card_with(http, url, {system.speaker})
        config = ClientConfig(streaming=False, httpx_client=http)
        client = await create_client(card, config)
        skilled = text_message("tck-complete-task")
        skilled.message.metadata.update({"skill": system.speaker})
        [routed] = await sent(client, skilled)
        with pytest.raises(InvalidParamsError, match="name the agent"):
            await sent(client, text_message("tck-complete-task"))

    assert quick.HasField("message") and not quick.HasField("task")
    assert quick.message.role == Role.ROLE_AGENT
    assert quick.message.parts[0].text == "Direct message response"
    assert routed.task.status.state == S.TASK_STATE_COMPLETED
    assert routed.task.status.message.parts[0].text == "Hello from TCK"


async def test_malformed_requests_get_the_protocols_errors_and_never_a_traceback(
    system: System,
) -> None:
    url = f"{system.gateway.url}/a2a/agents/{system.agent}"
    version = {"A2A-Version": "1.0"}

    def call(method: str, params: Any) -> dict[str, Any]:
        return {"jsonrpc": "2.0", "id": 7, "method": method, "params": params}

    wrong = {"id": "p1", "key": "k", "seq": "one"}
    bad_input = {"message": {"messageId": "m", "role": "ROLE_USER", "parts": [{"data": wrong}]}}
    text = {"content-type": "text/plain"}
    async with httpx.AsyncClient(timeout=30, headers=version) as http:
        answers = {
            "not json": await http.post(url, content=b"{nope"),
            "no method": await http.post(url, json=call("Nope", {})),
            "bad params": await http.post(url, json=call("GetTask", {"id": 5, "x": [1]})),
            "bad input": await http.post(url, json=call("SendMessage", bad_input)),
            "unknown task": await http.post(url, json=call("GetTask", {"id": "nope"})),
            "unknown agent": await http.post(
                f"{system.gateway.url}/a2a/agents/nobody-here", json=call("SendMessage", bad_input)
            ),
            "rest unknown task": await http.get(f"{url}/rest/tasks/nope"),
            "rest not json": await http.post(f"{url}/rest/message:send", content=b"[[["),
            "not a json type": await http.post(url, content=b"{}", headers=text),
            "rest not a json type": await http.post(
                f"{url}/rest/message:send", content=b"{}", headers=text
            ),
        }

    codes = {name: r.json().get("error", {}).get("code") for name, r in answers.items()}
    assert codes["not json"] == -32700 and codes["no method"] == -32601
    assert codes["bad params"] == -32602 and codes["bad input"] == -32602
    assert codes["unknown task"] == -32001 and codes["unknown agent"] == -32602
    bad = answers["bad input"].json()["error"]
    assert "'seq'" in bad["message"] and bad["data"][0]["metadata"]["field"] == "input.seq"
    assert answers["rest unknown task"].status_code == 404
    assert answers["rest not json"].status_code == 400
    assert codes["not a json type"] == -32005  # ContentTypeNotSupportedError
    assert answers["rest not a json type"].status_code == 415
    assert answers["rest unknown task"].headers["content-type"] == "application/json"
    for name, answer in answers.items():
        assert "Traceback" not in answer.text and 'File "' not in answer.text, name
        json.loads(answer.text)


async def test_the_sdk_took_every_new_task_as_new(system: System) -> None:
    """The SDK takes a task as new only while its store has none of that id, however far
    ahead of it the executor follows the journal (store.py, `creating`): no task of the
    tests above was one it had to ignore."""
    assert "Ignoring task replacement" not in system.gateway.log.read_text()


async def test_a2a_bodies_are_bounded_also_when_chunked(system: System) -> None:
    url = f"{system.gateway.url}/a2a/agents/{system.agent}"

    async def big() -> Any:  # 4 MiB with no Content-Length: sent chunked
        for _ in range(64):
            yield b" " * 65536

    async with httpx.AsyncClient(timeout=30, headers={"A2A-Version": "1.0"}) as http:
        rest = await http.post(f"{url}/rest/message:send", content=big())
        rpc = await http.post(url, content=big(), headers={"content-type": "application/json"})
    for answer in (rest, rpc):
        assert answer.status_code == 413, answer.text
        assert answer.json()["error"]["code"] == "payload_too_large"
