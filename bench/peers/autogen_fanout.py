"""The fan-out workload in AutoGen core (`autogen-core`): an orchestrator agent sends one task
to each of 3 worker agents and awaits their replies, in the in-process runtime.

As AutoGen core's docs build it: `RoutedAgent` subclasses with `@message_handler` methods,
registered on a `SingleThreadedAgentRuntime` with `register(runtime, type, factory)`; the
orchestrator uses direct messaging (`await self.send_message(message, AgentId(...))` returns
the recipient's reply), its 3 sends awaited together with `asyncio.gather`; the caller sends
each request with `runtime.send_message` and gets the orchestrator's output back. Messages
are dataclasses. Everything stays in this process: no broker, nothing durable. This is the
in-memory ceiling, not a like-for-like system.

    bench/.venvs/autogen/bin/python -m bench.peers.autogen_fanout fanout '{"system": "autogen"}'
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass

from autogen_core import (
    AgentId,
    MessageContext,
    RoutedAgent,
    SingleThreadedAgentRuntime,
    message_handler,
)

from bench.peers.common import drive_fanout, emit, fanout_config


@dataclass
class Question:
    id: int


@dataclass
class Task:
    request: int
    part: int


@dataclass
class Answer:
    request: int
    part: int


@dataclass
class Output:
    id: int
    parts: list[int]


class Worker(RoutedAgent):
    def __init__(self) -> None:
        super().__init__("answers a task with its input")

    @message_handler
    async def on_task(self, message: Task, ctx: MessageContext) -> Answer:
        return Answer(request=message.request, part=message.part)


class Orchestrator(RoutedAgent):
    def __init__(self, fanout: int) -> None:
        super().__init__("sends a request's tasks to the workers and joins their answers")
        self.fanout = fanout

    @message_handler
    async def on_question(self, message: Question, ctx: MessageContext) -> Output:
        answers = await asyncio.gather(*(
            self.send_message(Task(request=message.id, part=n), AgentId("worker", str(n)))
            for n in range(self.fanout)
        ))  # fmt: skip
        return Output(id=message.id, parts=[a.part for a in answers])


async def main(argv: list[str]) -> None:
    config = fanout_config(argv, "autogen_fanout", ("autogen",))
    runtime = SingleThreadedAgentRuntime()
    await Worker.register(runtime, "worker", Worker)
    await Orchestrator.register(runtime, "orchestrator", lambda: Orchestrator(config.fanout))
    runtime.start()
    orchestrator = AgentId("orchestrator", "default")

    async def request(i: int) -> object:
        output = await runtime.send_message(Question(id=i), orchestrator)
        assert isinstance(output, Output) and len(output.parts) == config.fanout
        return output

    result = await drive_fanout(request, config)
    await runtime.stop_when_idle()
    emit(result)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
