"""One gateway process: its clients of Kafka and the registry, made once and shared by every
request, and started and stopped with the web server.

Nothing a client sees lives only here: tasks are on `hivebus.tasks`, runs in their journals,
results on the agents' topics. A replica that dies loses only its open connections; the
clients reconnect to any other replica and go on from their last event id.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from hivebus.contracts import Serde, registry_client
from hivebus.durable import RunJournal
from hivebus.durable.topics import journal_topic
from hivebus.gateway.auth.keys import keys_file_from_env
from hivebus.gateway.body import DEFAULT_LIMIT
from hivebus.gateway.catalog import REFRESH_S, Catalog
from hivebus.gateway.contracts import Contracts
from hivebus.gateway.errors import ApiError
from hivebus.gateway.journals import JournalFeed
from hivebus.gateway.outputs import OutputCache, Outputs, find_outputs
from hivebus.gateway.records import SPEC, TOPIC, TaskRecord
from hivebus.gateway.security import cors_origins_from_env
from hivebus.gateway.submit import Submitter
from hivebus.gateway.tasks import TaskTable
from hivebus.kafka.admin import admin_client, ensure_topics
from hivebus.kafka.config import producer_config
from hivebus.kafka.producer import AsyncProducer

# Every submission waits on two acknowledgements: no linger, and reports served at once.
PRODUCER, POLL_S = {"linger.ms": 0}, 0.0005
log = logging.getLogger("hivebus.gateway")


@dataclass(frozen=True)
class Settings:
    max_body_bytes: int = DEFAULT_LIMIT
    keepalive_s: float = 15.0  # an SSE comment this often, so proxies keep a quiet stream
    directory_refresh_s: float = REFRESH_S
    keys_file: Path | None = field(default_factory=keys_file_from_env)  # None: open
    cors_origins: tuple[str, ...] = field(default_factory=cors_origins_from_env)  # (): no CORS


class Gateway:
    """Made in the server's lifespan (`start`), on the server's event loop."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.serde = Serde(registry_client())
        self.contracts = Contracts(self.serde.registry)
        self.catalog = Catalog(self.serde, settings.directory_refresh_s)
        self.outputs = OutputCache()
        self._feeds: dict[str, JournalFeed] = {}
        self._producer: AsyncProducer | None = None
        self._tasks: TaskTable | None = None
        self._submitter: Submitter | None = None

    async def start(self) -> None:
        admin = admin_client()
        await asyncio.to_thread(ensure_topics, admin, [SPEC])
        snapshot = await self.catalog.refresh()
        partitions = snapshot.partitions.get(TOPIC, SPEC.partitions)
        self._producer = AsyncProducer(
            producer_config("hivebus-gateway", PRODUCER),
            asyncio.get_running_loop(),
            poll_interval_s=POLL_S,
        )
        self._tasks = TaskTable(self.serde, partitions)
        self._tasks.start()
        self._submitter = Submitter(self.serde, self._producer, self._tasks)
        self.catalog.start()

    async def stop(self) -> None:
        await self.catalog.stop()
        for feed in self._feeds.values():
            feed.stop()
        if self._tasks is not None:
            self._tasks.stop()
        if self._producer is not None:
            await self._producer.flush()
            self._producer.close()

    @property
    def submitter(self) -> Submitter:
        assert self._submitter is not None, "the gateway has not started"
        return self._submitter

    async def task(self, task_id: str) -> TaskRecord:
        """The task, or a 404."""
        assert self._tasks is not None, "the gateway has not started"
        found = await self._tasks.get(task_id)
        if found is None:
            raise ApiError(404, "unknown_task", f"no task {task_id!r}")
        return found

    def recent_tasks(self, limit: int) -> list[TaskRecord]:
        """The newest tasks on `hivebus.tasks`, newest first."""
        assert self._tasks is not None, "the gateway has not started"
        return self._tasks.recent(limit)

    async def feed(self, agent: str) -> JournalFeed | None:
        """The journals of `agent`'s runs (None while it has no journal topic)."""
        topic = journal_topic(agent)
        if (found := self._feeds.get(topic)) is not None and not found.failed:
            return found
        partitions = (await self.catalog.knowing(topic=topic)).partitions.get(topic)
        if partitions is None:
            return None
        found = self._feeds.get(topic)
        if found is None or found.failed:  # (or another request made it meanwhile)
            found = self._feeds[topic] = JournalFeed(topic, partitions)
            found.start()
        return found

    async def results(self, task: TaskRecord, journal: RunJournal) -> list[dict[str, object]]:
        """The events a completed run published: one read per task, shared by every stream
        asking meanwhile, then kept."""
        try:
            return await self.outputs.read_once(
                task.task_id, lambda: self._read_results(task, journal)
            )
        except Exception:  # shown without them (logged once, by the read); asked again next time
            return []

    async def _read_results(self, task: TaskRecord, journal: RunJournal) -> Outputs:
        """The one read: a failure is logged here, once for all the streams waiting on it."""
        try:
            snapshot = await self.catalog.knowing(agent=task.agent)
            view = snapshot.agents.get(task.agent)
            names = view.latest.outputs if view is not None else []
            topics = {t: snapshot.partitions[t] for t in names if t in snapshot.partitions}
            completed_ms = int(datetime.fromisoformat(journal.updated_at).timestamp() * 1000)
            return await asyncio.to_thread(
                find_outputs, self.serde, topics, task.task_id, completed_ms
            )
        except Exception as error:
            log.warning("could not read the outputs of task %s: %s", task.task_id, error)
            raise
