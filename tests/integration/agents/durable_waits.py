"""A durable agent for the many-runs test: a step, a sleep, a step, a wait, a step.

Each real execution of a step is logged to DURABLE_STEP_LOG as "<ping id> <step>".
"""

from __future__ import annotations

import os
from pathlib import Path

from hivebus import Agent, Context
from hivebus.durable import WaitTimedOut

from .contracts import Ping, Pong

agent = Agent(
    os.environ["DURABLE_AGENT"],
    durable=True,
    guarantee=os.environ.get("DURABLE_GUARANTEE", "exactly_once"),
    max_in_flight=int(os.environ.get("DURABLE_IN_FLIGHT", "128")),
)
STEP_LOG = Path(os.environ["DURABLE_STEP_LOG"])
SLEEP_S = float(os.environ.get("DURABLE_SLEEP_S", "2"))
WAIT_S = float(os.environ.get("DURABLE_WAIT_S", "8"))


def _log(ping_id: str, step: str) -> str:
    with STEP_LOG.open("a") as log:
        log.write(f"{ping_id} {step}\n")
    return step


@agent.on(os.environ["DURABLE_SOURCE"], Ping, output=os.environ["DURABLE_OUTPUT"])
async def handle(ping: Ping, ctx: Context) -> Pong:
    await ctx.step("before", _log, ping.id, "before")
    await ctx.sleep(SLEEP_S)
    await ctx.step("between", _log, ping.id, "between")
    try:
        answer = (await ctx.wait_for("go", timeout_s=WAIT_S))["by"]
    except WaitTimedOut:
        answer = "timeout"
    await ctx.step("after", _log, ping.id, "after")
    return Pong(id=ping.id, key=ping.key, seq=ping.seq, handled_by=answer)
