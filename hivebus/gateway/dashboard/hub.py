"""One dashboard per gateway process: reads while someone looks, and pushes every change.

It runs only while a page or a client watches. It starts with the first request and stops
`IDLE_S` after the last viewer left, so a gateway nobody looks at pays nothing for it. Every
`REFRESH_S` it reads the broker: the groups' lag, the dead-letter counts, and the directory
again if the gateway's copy is older than `DIRECTORY_S`. The tasks change in between, as
their journals are written (tasks.py). Each change makes a new document, and every viewer
is sent the newest one. A slow viewer skips versions instead of queueing them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from confluent_kafka.admin import AdminClient

from hivebus.gateway.catalog import Snapshot as Catalogue
from hivebus.gateway.dashboard import agents, snapshot
from hivebus.gateway.dashboard.deadletters import DeadLetterCount, DeadLetterCounts
from hivebus.gateway.dashboard.offsets import GroupOffsets, group_offsets
from hivebus.gateway.dashboard.rates import RateMeter
from hivebus.gateway.dashboard.tasks import TaskWatcher
from hivebus.gateway.errors import ApiError
from hivebus.gateway.service import Gateway
from hivebus.kafka.admin import admin_client

REFRESH_S, DIRECTORY_S, IDLE_S, TIMEOUT_S = 2.0, 5.0, 60.0, 5.0
FIRST_S = 30.0  # a request waits this long for the first reading
DEBOUNCE_S = 0.1  # task changes that come together make one new document
log = logging.getLogger("hivebus.gateway.dashboard")


def stamp(at: datetime | None = None) -> str:
    moment = at or datetime.now(UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Dashboard:
    def __init__(self, gateway: Gateway, refresh_s: float = REFRESH_S) -> None:
        self._gateway = gateway
        self.refresh_s = refresh_s
        self._admin: AdminClient | None = None
        self._dead = DeadLetterCounts()
        self._instance_rates, self._commit_rates, self._arrival_rates = (
            RateMeter(), RateMeter(), RateMeter()
        )  # fmt: skip
        self._tasks = TaskWatcher(gateway, self._tasks_changed)
        self._catalogue = Catalogue()
        self._groups: dict[str, GroupOffsets] = {}
        self._dead_letters: list[DeadLetterCount] = []
        self._problems: dict[str, str] = {}
        self._document: dict[str, Any] | None = None
        self.version = 0
        self._changed = asyncio.Event()
        self._viewers = 0
        self._asked_at = 0.0
        self._loop_task: asyncio.Task[None] | None = None
        self._rebuild: asyncio.TimerHandle | None = None

    async def document(self) -> dict[str, Any]:
        """The newest document (the first request waits for the first reading)."""
        self._asked_at = time.monotonic()
        self._ensure_running()
        deadline = time.monotonic() + FIRST_S
        while self._document is None:
            changed = self._changed
            try:
                await asyncio.wait_for(changed.wait(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                message = f"the dashboard's first reading took over {FIRST_S:.0f} s; see the log"
                raise ApiError(503, "dashboard_unavailable", message) from None
        return self._document

    async def updates(self) -> AsyncIterator[tuple[int, dict[str, Any]]]:
        """(version, document) now and after every change, for as long as the caller reads."""
        self._viewers += 1
        self._ensure_running()
        seen = 0
        try:
            while True:
                changed = self._changed
                if self._document is not None and self.version > seen:
                    seen = self.version
                    yield seen, self._document
                    continue
                await changed.wait()
        finally:
            self._viewers -= 1
            self._asked_at = time.monotonic()

    async def stop(self) -> None:
        if self._loop_task is not None:
            self._loop_task.cancel()
            await asyncio.gather(self._loop_task, return_exceptions=True)

    def _ensure_running(self) -> None:
        if self._loop_task is None or self._loop_task.done():
            self._loop_task = asyncio.create_task(self._run())

    def _idle(self) -> bool:
        return self._viewers == 0 and time.monotonic() - self._asked_at > IDLE_S

    async def _run(self) -> None:
        while True:
            await self._watched()
            # A viewer who came while the watches stopped found this task still running and
            # started none: go on for them (no await between this check and the end).
            if self._idle():
                return

    async def _watched(self) -> None:
        log.info("dashboard: reading the system every %.1f s while watched", self.refresh_s)
        try:
            while not self._idle():
                started = time.monotonic()
                try:
                    await self._refresh()
                    self._tasks.sync()
                    await asyncio.sleep(DEBOUNCE_S)  # new watches read their journals first
                    self._problems.pop("dashboard", None)
                except Exception as error:  # shown on the page; the next round tries again
                    log.exception("the dashboard's reading failed")
                    self._problems["dashboard"] = f"the dashboard's reading failed: {error}"
                self._publish()
                await asyncio.sleep(max(0.0, self.refresh_s - (time.monotonic() - started)))
        finally:
            await self._tasks.stop()
            log.info("dashboard: nobody watches, stopped reading")

    async def _refresh(self) -> None:
        try:
            self._catalogue = await self._gateway.catalog.fresher(time.monotonic() - DIRECTORY_S)
            self._problems.pop("directory", None)
        except Exception as error:  # the cluster is away: keep what was read last
            self._problems["directory"] = f"could not read the directory: {error}"
        views = self._catalogue.agents
        shown = agents.shown_agents(views, self._directory_at())
        agents.sample_instances(self._instance_rates, views)
        reads = await asyncio.gather(
            asyncio.to_thread(self._read_groups, shown),
            asyncio.to_thread(self._read_dead_letters, dict(self._catalogue.partitions)),
            return_exceptions=True,
        )
        groups, dead = reads
        if isinstance(groups, BaseException):
            self._problems["lag"] = f"could not read the consumer groups: {groups}"
        else:
            self._groups = groups
            self._problems.pop("lag", None)
            agents.sample_groups(self._commit_rates, self._arrival_rates, groups, time.monotonic())
        if isinstance(dead, BaseException):
            self._problems["dead_letters"] = f"could not count the dead letters: {dead}"
        else:
            self._dead_letters = dead
            self._problems.pop("dead_letters", None)
        instances = [agents.instance_key(a) for n in shown for a in views[n].instances.values()]
        self._instance_rates.keep_only(instances)
        self._commit_rates.keep_only(shown)
        self._arrival_rates.keep_only(shown)

    def _directory_at(self) -> datetime:
        """When the directory was read, on the wall clock. Instances are judged live as of
        then: the directory is read every few seconds, and an instance with a 1 s heartbeat
        must not look gone in between."""
        age = time.monotonic() - self._catalogue.taken if self._catalogue.taken else 0.0
        return datetime.now(UTC) - timedelta(seconds=age)

    def _read_groups(self, groups: list[str]) -> dict[str, GroupOffsets]:
        return group_offsets(self._admin_client(), groups, TIMEOUT_S)

    def _read_dead_letters(self, partitions: dict[str, int]) -> list[DeadLetterCount]:
        return self._dead.read(self._admin_client(), partitions, TIMEOUT_S)

    def _admin_client(self) -> AdminClient:
        if self._admin is None:
            self._admin = admin_client()
        return self._admin

    def _tasks_changed(self) -> None:
        """A task moved: a new document soon (changes that come together make one)."""
        if self._rebuild is None:
            self._rebuild = asyncio.get_running_loop().call_later(DEBOUNCE_S, self._publish)

    def _publish(self) -> None:
        if self._rebuild is not None:
            self._rebuild.cancel()
            self._rebuild = None
        catalogue, at = self._catalogue, self._directory_at()
        views = catalogue.agents
        shown = agents.shown_agents(views, at)
        rows = [
            agents.agent_row(
                views[name], at=at, durable=catalogue.is_durable(name),
                part=agents.part_of(name, views), offsets=self._groups.get(name),
                instance_rates=self._instance_rates, committed_rates=self._commit_rates,
                arrival_rates=self._arrival_rates,
            )
            for name in shown
        ]  # fmt: skip
        self._document = snapshot.build(
            taken_at=stamp(),
            directory_read_at=stamp(at) if catalogue.taken else None,
            refresh_s=self.refresh_s,
            agents=rows,
            hidden_agents=len(views) - len(shown),
            tasks=self._tasks.rows(),
            dead_letters=self._dead_letters,
            problems=list(self._problems.values()),
        )
        self.version += 1
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()
