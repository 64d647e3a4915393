"""A relay agent configured from the environment, run by `hivebus run` in replica tests."""

from __future__ import annotations

import asyncio
import os

from hivebus import Agent, Context

from .contracts import Ping, Pong

relay = Agent(os.environ["RELAY_AGENT"], max_in_flight=16)
DELAY_S = float(os.environ.get("RELAY_DELAY_S", "0"))


@relay.on(os.environ["RELAY_SOURCE"], Ping, output=os.environ["RELAY_OUTPUT"])
async def handle(ping: Ping, ctx: Context) -> Pong:
    await asyncio.sleep(DELAY_S)
    return Pong(id=ping.id, key=ping.key, seq=ping.seq, handled_by=str(os.getpid()))
