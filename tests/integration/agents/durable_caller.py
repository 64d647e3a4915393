"""A durable agent for the call test: a step, a call to the pricing agent, a step.

Each real execution of a step is logged to DURABLE_STEP_LOG as "<ping id> <step>".
"""

from __future__ import annotations

import os
from pathlib import Path

from hivebus import Agent, Callee, DurableContext

from .contracts import Ping, Pong

pricing = Callee(os.environ["CALL_TOPIC"], reply_topic=os.environ["REPLY_TOPIC"], returns=Pong)
agent = Agent(
    os.environ["DURABLE_AGENT"],
    durable=True,
    guarantee=os.environ.get("DURABLE_GUARANTEE", "exactly_once"),
    calls=[pricing],
)
STEP_LOG = Path(os.environ["DURABLE_STEP_LOG"])


def _log(ping_id: str, step: str) -> str:
    with STEP_LOG.open("a") as log:
        log.write(f"{ping_id} {step}\n")
    return step


@agent.on(os.environ["DURABLE_SOURCE"], Ping, output=os.environ["DURABLE_OUTPUT"])
async def handle(ping: Ping, ctx: DurableContext) -> Pong:
    await ctx.step("before", _log, ping.id, "before")
    quote = await ctx.call(pricing, Ping(id=ping.id, key=ping.key, seq=ping.seq), timeout_s=300)
    await ctx.step("after", _log, ping.id, "after")
    return Pong(id=ping.id, key=ping.key, seq=ping.seq, handled_by=quote.handled_by)
