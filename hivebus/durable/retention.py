"""Forgetting finished runs: their journals and large results tombstoned after a while.

A run that completed, failed or was cancelled keeps its journal for
`HIVEBUS_DURABLE_RETENTION_S` (7 days by default; 0: at the next sweep): long enough for
`hivebus runs show`, and for a repeated start of the same event to be recognised as a run
that already happened. Then a sweep, every few seconds on the worker holding the run's
partition, writes tombstones for the journal and any blobs the run wrote, and compaction
removes them. A repeated start after that runs the event as a new run.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from hivebus.durable.blobs import BlobStore
from hivebus.durable.journal import JournalStore
from hivebus.durable.run import ENDED
from hivebus.envvars import int_env
from hivebus.runtime.agent import HeldPartition

SWEEP_S = 5.0
REF = "ref:"


def retention() -> timedelta:
    return timedelta(seconds=int_env("HIVEBUS_DURABLE_RETENTION_S", 7 * 24 * 3600, 0, 10**9))


async def sweep(store: JournalStore, blobs: BlobStore, log: logging.Logger) -> int:
    """Tombstone the finished runs past their retention in the partitions held; how many."""
    cutoff = datetime.now(UTC) - retention()
    swept = 0
    for partition, runs in store.restored().items():
        for journal in list(runs.values()):
            if journal.state not in ENDED or datetime.fromisoformat(journal.updated_at) > cutoff:
                continue
            for step in journal.steps:
                if step.codec.startswith(REF) and step.value is not None:
                    await blobs.forget(step.value)
            await store.tombstone(journal.run_id, partition)
            swept += 1
    if swept:
        log.info("forgot %d finished run(s) past their retention", swept)
    return swept


class Sweeper:
    """Sweeps while the run agent holds partitions of its inbox (PartitionHooks)."""

    def __init__(self, inbox: str, stores: Callable[[], tuple[JournalStore, BlobStore]],
                 log: logging.Logger) -> None:  # fmt: skip
        self._inbox, self._stores, self._log = inbox, stores, log
        self._held: set[int] = set()
        self._task: asyncio.Task[None] | None = None

    def assigned(self, partitions: list[HeldPartition]) -> None:
        self._held |= {partition for topic, partition, _ in partitions if topic == self._inbox}
        if self._held and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._sweeping())

    def revoked(self, partitions: list[HeldPartition]) -> None:
        self._held -= {partition for topic, partition, _ in partitions if topic == self._inbox}
        if not self._held and self._task is not None:
            self._task.cancel()
            self._task = None

    async def _sweeping(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_S)
            try:
                await sweep(*self._stores(), self._log)
            except Exception:
                self._log.exception("sweeping finished runs failed; trying again")
