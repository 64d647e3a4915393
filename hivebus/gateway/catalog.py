"""What the gateway knows of the system: the directory's agents and the cluster's topics.

Read in the background every `refresh_s` and on demand when a request names an agent not
seen yet (reads start at most twice a second, shared by the requests waiting), never once
per request: a busy gateway would otherwise read the whole directory for every submission.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from confluent_kafka.admin import AdminClient

from hivebus.contracts import Serde
from hivebus.durable.topics import journal_topic
from hivebus.kafka.admin import admin_client
from hivebus.runtime.directory import AgentView, read_directory

REFRESH_S, ON_DEMAND_S, TIMEOUT_S = 15.0, 0.5, 10.0
log = logging.getLogger("hivebus.gateway.catalog")


@dataclass(frozen=True)
class Snapshot:
    agents: dict[str, AgentView] = field(default_factory=dict)
    partitions: dict[str, int] = field(default_factory=dict)  # topic -> partition count
    taken: float = 0.0  # monotonic

    def is_durable(self, agent: str) -> bool:
        return agent in self.agents and journal_topic(agent) in self.partitions

    def durable_agents(self) -> list[str]:
        return sorted(name for name in self.agents if self.is_durable(name))

    def live_durable_agents(self) -> list[str]:
        """Durable agents with an instance heard from lately: those that take tasks now."""
        now = datetime.now(UTC)
        return [n for n in self.durable_agents() if self.agents[n].live_instances(now)]


class Catalog:
    def __init__(self, serde: Serde, refresh_s: float = REFRESH_S) -> None:
        self._serde = serde
        self._refresh_s = refresh_s
        self._admin: AdminClient | None = None
        self._snapshot = Snapshot()
        self._reading: asyncio.Task[Snapshot] | None = None
        self._loop_task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._loop_task = asyncio.create_task(self._every())

    async def stop(self) -> None:
        if self._loop_task is not None:
            self._loop_task.cancel()

    async def current(self) -> Snapshot:
        """The newest snapshot (the first call waits for one)."""
        if self._snapshot.taken == 0.0:
            return await self.refresh()
        return self._snapshot

    async def knowing(self, agent: str | None = None, topic: str | None = None) -> Snapshot:
        """A snapshot that has `agent` and `topic` if they exist: read again once when the
        newest misses either (they may have appeared since)."""
        asked = time.monotonic()
        snapshot = await self.current()
        missing = (agent is not None and not snapshot.is_durable(agent)) or (
            topic is not None and topic not in snapshot.partitions
        )
        return await self.fresher(asked) if missing else snapshot

    async def fresher(self, since: float) -> Snapshot:
        """A snapshot read after `since` (monotonic): what a request that found nothing
        waits for once. Reads start at most every ON_DEMAND_S; requests share them."""
        while self._snapshot.taken < since:
            pause = self._snapshot.taken + ON_DEMAND_S - time.monotonic()
            if pause > 0 and (self._reading is None or self._reading.done()):
                await asyncio.sleep(pause)
            await self.refresh()
        return self._snapshot

    async def refresh(self) -> Snapshot:
        if self._reading is None or self._reading.done():
            self._reading = asyncio.create_task(asyncio.to_thread(self._read))
        self._snapshot = await asyncio.shield(self._reading)
        return self._snapshot

    async def _every(self) -> None:
        while True:
            await asyncio.sleep(self._refresh_s)
            try:
                await self.refresh()
            except Exception as error:  # the cluster is away: keep the last snapshot
                log.warning("could not read the directory: %s", error)

    def _read(self) -> Snapshot:
        started = time.monotonic()  # the snapshot shows at least what was there by then
        if self._admin is None:
            self._admin = admin_client()
        topics = self._admin.list_topics(timeout=TIMEOUT_S).topics
        partitions = {name: len(t.partitions) for name, t in topics.items() if t.error is None}
        agents = read_directory(self._serde, TIMEOUT_S)
        return Snapshot(agents, partitions, started)
