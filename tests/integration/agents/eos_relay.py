"""A relay agent for the exactly-once tests, configured from the environment."""

from __future__ import annotations

import asyncio
import os

from hivebus import Agent, Context

from .contracts import Ping, Pong

relay = Agent(
    os.environ["RELAY_AGENT"],
    max_in_flight=16,
    ordering=os.environ.get("RELAY_ORDERING", "partition"),
    guarantee=os.environ.get("RELAY_GUARANTEE", "exactly_once"),
)
DELAY_S = float(os.environ.get("RELAY_DELAY_S", "0"))


@relay.on(os.environ["RELAY_SOURCE"], Ping, output=os.environ["RELAY_OUTPUT"])
async def handle(ping: Ping, ctx: Context) -> Pong:
    await asyncio.sleep(DELAY_S)
    return Pong(id=ping.id, key=ping.key, seq=ping.seq, handled_by=str(os.getpid()))
