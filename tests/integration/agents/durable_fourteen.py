"""A 14-step durable agent for the crash tests: LLM steps (odd) and tool steps (even).

Every real execution of a step is logged to DURABLE_STEP_LOG ("start N" and "done N"), so the
test can tell a replayed step (not logged) from one that ran. The first execution of step
DURABLE_SLOW_STEP waits DURABLE_SLOW_S first: the test kills the worker -9 during it.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from hivebus import Agent, Context

from .contracts import Ping, Pong

agent = Agent(
    os.environ["DURABLE_AGENT"],
    durable=True,
    guarantee=os.environ.get("DURABLE_GUARANTEE", "exactly_once"),
    max_in_flight=8,
)
STEP_LOG = Path(os.environ["DURABLE_STEP_LOG"])
SLOW_STEP = int(os.environ.get("DURABLE_SLOW_STEP", "11"))
SLOW_S = float(os.environ.get("DURABLE_SLOW_S", "30"))
STEPS = 14


def _log(line: str) -> None:
    with STEP_LOG.open("a") as log:
        log.write(line + "\n")


async def _slow_once(n: int) -> None:
    marker = STEP_LOG.with_suffix(f".slow{n}")
    if n == SLOW_STEP and not marker.exists():
        marker.touch()
        await asyncio.sleep(SLOW_S)


@agent.on(os.environ["DURABLE_SOURCE"], Ping, output=os.environ["DURABLE_OUTPUT"])
async def research(ping: Ping, ctx: Context) -> Pong:
    notes: list[str] = []

    async def ask(n: int) -> str:
        _log(f"start {n}")
        await _slow_once(n)
        reply = await ctx.llm.complete(f"step {n} of {ping.id}")
        _log(f"done {n}")
        return reply.text

    async def tool(n: int) -> str:
        _log(f"start {n}")
        await _slow_once(n)
        _log(f"done {n}")
        return f"tool {n}"

    for n in range(1, STEPS + 1):
        fn = ask if n % 2 else tool
        notes.append(await ctx.step(f"step-{n}", fn, n))
    return Pong(id=ping.id, key=ping.key, seq=len(notes), handled_by=notes[-1])
