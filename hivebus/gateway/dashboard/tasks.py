"""The newest tasks, each with its run's state and steps as the journal has them, live.

Each unfinished task among the newest is watched through the gateway's journal feed of its
agent, as its event stream would be. The feed is one consumer per journal topic, shared by
every stream, and a journal version reaches the dashboard as soon as it reaches them. A task
that has ended is no longer watched: its row stays as it last was. A watch that fails (a
feed that stopped, say) is started again on the next `sync`.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

from hivebus.durable import RunJournal
from hivebus.gateway.events import TERMINAL, events_of, task_state
from hivebus.gateway.records import TaskRecord
from hivebus.gateway.service import Gateway
from hivebus.gateway.status import task_data

SHOWN = 25  # the newest tasks shown
STARTING = 3  # watches that may read a journal partition at once (the first look at a task)
READING = "reading"  # a task's state until its journal has been looked at
NO_JOURNAL_S = 30.0  # a task whose agent has no journal topic is looked at again after this
log = logging.getLogger("hivebus.gateway.dashboard")


def task_row(task: TaskRecord, journal: RunJournal | None) -> dict[str, Any]:
    """A task as the dashboard lists it: where its run is, and the outline of its steps
    (no values: the task's own status and stream carry those)."""
    state = task_state(journal)
    steps = sorted(journal.steps, key=lambda s: s.seq) if journal is not None else []
    return {
        "id": task.task_id,
        **task_data(task),
        "state": state,
        "terminal": state in TERMINAL,
        "last_event_id": str(events_of(journal, {})[-1].id),
        "run": None
        if journal is None
        else {
            "state": journal.state,
            "detail": journal.detail,
            "waiting_for": journal.waiting_for,
            "wake_at": journal.wake_at,
            "started_at": journal.started_at,
            "updated_at": journal.updated_at,
        },
        "steps": [
            {
                "position": s.seq,
                "name": s.name,
                "outcome": s.outcome,
                "started_at": s.started_at,
                "duration_ms": s.duration_ms,
                "attempts": s.attempts,
            }
            for s in steps
        ],
    }


class NewestFirst:
    """At most `slots` holders at once; whoever waits with the greatest key goes next.

    A task's first look may read its journal's partition (about half a second), so the
    first page of 25 tasks takes a while. The task just submitted must not wait behind them.
    """

    def __init__(self, slots: int) -> None:
        self._free = slots
        self._waiting: list[tuple[float, int, asyncio.Future[None]]] = []  # a heap on -key
        self._count = 0

    @contextlib.asynccontextmanager
    async def turn(self, key: float) -> AsyncIterator[None]:
        if self._free > 0 and not self._waiting:
            self._free -= 1
        else:
            self._count += 1
            ready = asyncio.get_running_loop().create_future()
            heapq.heappush(self._waiting, (-key, self._count, ready))
            try:
                await ready
            except asyncio.CancelledError:
                if ready.done() and not ready.cancelled():
                    self._release()  # the slot was handed over just now: pass it on
                raise
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        while self._waiting:
            _, _, ready = heapq.heappop(self._waiting)
            if not ready.done():
                ready.set_result(None)
                return
        self._free += 1


class TaskWatcher:
    """Rows of the newest tasks, kept up to date; `changed` is called on every change."""

    def __init__(self, gateway: Gateway, changed: Callable[[], None], shown: int = SHOWN) -> None:
        self._gateway, self._changed, self._shown = gateway, changed, shown
        self._rows: dict[str, dict[str, Any]] = {}
        self._watches: dict[str, asyncio.Task[None]] = {}
        self._starting = NewestFirst(STARTING)
        self._newest: list[str] = []
        self._later: dict[str, float] = {}  # task id -> when to look for its journal again

    def sync(self) -> None:
        """Pick the newest tasks again: watch those new among them, drop the others."""
        newest = self._gateway.recent_tasks(self._shown)
        self._newest = [task.task_id for task in newest]
        now = time.monotonic()
        for task in newest:
            row = self._rows.get(task.task_id)
            if self._later.get(task.task_id, 0.0) > now:
                continue
            if task.task_id not in self._watches and (row is None or not row["terminal"]):
                self._rows.setdefault(task.task_id, {**task_row(task, None), "state": READING})
                self._watches[task.task_id] = asyncio.create_task(self._watch(task))
        kept = set(self._newest)
        for task_id in [t for t in self._watches if t not in kept]:
            self._watches.pop(task_id).cancel()
        for task_id in [t for t in self._rows if t not in kept]:
            del self._rows[task_id]
        self._later = {t: at for t, at in self._later.items() if t in kept and at > now}

    def rows(self) -> list[dict[str, Any]]:
        """The newest tasks, newest first."""
        return [self._rows[t] for t in self._newest if t in self._rows]

    async def stop(self) -> None:
        watches = list(self._watches.values())
        self._watches.clear()
        for watch in watches:
            watch.cancel()
        await asyncio.gather(*watches, return_exceptions=True)

    async def _watch(self, task: TaskRecord) -> None:
        try:
            await self._follow(task)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # watched again on the next sync
            log.warning("could not follow task %s: %s", task.task_id, error)
        finally:
            if self._watches.get(task.task_id) is asyncio.current_task():
                del self._watches[task.task_id]

    async def _follow(self, task: TaskRecord) -> None:
        feed = await self._gateway.feed(task.agent)
        if feed is None:
            # No journal topic (yet). Asking again on every sync would read the directory.
            self._rows[task.task_id] = task_row(task, None)
            self._changed()
            self._later[task.task_id] = time.monotonic() + NO_JOURNAL_S
            return
        submitted_ms = int(datetime.fromisoformat(task.submitted_at).timestamp() * 1000)
        async with contextlib.AsyncExitStack() as stack:
            async with self._starting.turn(submitted_ms):  # the first look may read a partition
                versions = await stack.enter_async_context(feed.watch(task.task_id, submitted_ms))
            async for value in versions:
                journal = await self._decoded(value)
                row = task_row(task, journal)
                if row != self._rows.get(task.task_id):
                    self._rows[task.task_id] = row
                    self._changed()
                if row["terminal"]:
                    return

    async def _decoded(self, value: bytes | None) -> RunJournal | None:
        if value is None:
            return None  # no journal yet, or a tombstone: a run forgotten after retention
        await self._gateway.serde.writer_async(value)  # its schema, fetched off the loop
        return self._gateway.serde.decode(value, RunJournal)
