"""Durable timers: sleeping runs, and waits with a timeout, woken about on time.

A run that suspends with a wake-up time is scheduled on the event loop. When a worker is
assigned a partition of the inbox, it restores that partition's journals and schedules every
run found sleeping or waiting there, so timers survive any restart (a time already past fires
at once); a revoked partition's timers are dropped, as its next owner schedules them. Firing
sends a `wake` request to the run's own partition of the inbox; its execution replays to the
sleep, which then returns.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

from hivebus.durable.records import RunJournal
from hivebus.runtime.agent import HeldPartition

SUSPENDED = ("sleeping", "waiting")
Wake = Callable[[str, int], Awaitable[None]]  # (run id, partition): send the wake request
Held = Callable[[int, int], Awaitable[dict[str, RunJournal]]]  # (partition, generation)


class Timers:
    def __init__(
        self, inbox: str, *, wake: Wake, held: Held, forget: Callable[[int], None],
        log: logging.Logger,
    ) -> None:  # fmt: skip
        self.inbox = inbox
        self._wake_run, self._held, self._forget, self._log = wake, held, forget, log
        self._handles: dict[str, tuple[int, asyncio.TimerHandle]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def schedule(self, run_id: str, partition: int, wake_at: str) -> None:
        self.cancel(run_id)
        loop = asyncio.get_running_loop()
        delay = (datetime.fromisoformat(wake_at) - datetime.now(UTC)).total_seconds()
        handle = loop.call_later(max(0.0, delay), self._fire, run_id, partition)
        self._handles[run_id] = (partition, handle)

    def cancel(self, run_id: str) -> None:
        found = self._handles.pop(run_id, None)
        if found is not None:
            found[1].cancel()

    # ---- PartitionHooks: the run agent's assignments ----

    def assigned(self, partitions: list[HeldPartition]) -> None:
        for topic, partition, generation in partitions:
            if topic == self.inbox:
                self._spawn(self._restore(partition, generation))

    def revoked(self, partitions: list[HeldPartition]) -> None:
        gone = {partition for topic, partition, _ in partitions if topic == self.inbox}
        for run_id, (partition, _) in list(self._handles.items()):
            if partition in gone:
                self.cancel(run_id)
        for partition in gone:
            self._forget(partition)

    async def _restore(self, partition: int, generation: int) -> None:
        try:
            held = await self._held(partition, generation)
        except Exception:  # the first request restores it again, and reports what fails
            self._log.exception("restoring the journals of partition %d failed", partition)
            return
        for journal in list(held.values()):
            if journal.state in SUSPENDED and journal.wake_at is not None:
                self.schedule(journal.run_id, partition, journal.wake_at)

    def _fire(self, run_id: str, partition: int) -> None:
        self._handles.pop(run_id, None)
        self._spawn(self._wake(run_id, partition))

    async def _wake(self, run_id: str, partition: int) -> None:
        try:
            await self._wake_run(run_id, partition)
        except Exception:
            self._log.exception("waking run %s failed; retrying in 1 s", run_id)
            self.schedule(run_id, partition, _in_one_second())

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _in_one_second() -> str:
    return (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
