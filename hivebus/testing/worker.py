"""Running agents inside a test: start a worker, wait until it has joined, stop it after."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from hivebus.runtime import Agent, Worker

FAST_CONSUMER = {
    # New topics matching a pattern are seen within a second.
    "topic.metadata.refresh.interval.ms": 1000,
}


@asynccontextmanager
async def running(
    agents: list[Agent],
    *,
    join_timeout_s: float = 60.0,
    wait_for_assignment: bool = True,
    **worker_options: Any,
) -> AsyncIterator[Worker]:
    """Run `agents` in this event loop until the block ends, then stop gracefully.

    With `wait_for_assignment`, the block starts once every agent owns its partitions; turn
    it off for a pattern that matches no topic yet (such a consumer has nothing to own).
    """
    options: dict[str, Any] = {"heartbeat_s": 1.0, "drain_grace_s": 5.0, **worker_options}
    options["consumer_overrides"] = {**FAST_CONSUMER, **options.get("consumer_overrides", {})}
    worker = Worker(agents, **options)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        await _joined(worker, task, join_timeout_s, wait_for_assignment)
        yield worker
    finally:
        stop.set()
        await task


async def _joined(
    worker: Worker, task: asyncio.Task[None], timeout_s: float, assigned: bool
) -> None:
    deadline = time.monotonic() + timeout_s

    def joined() -> bool:
        if not worker.ready.is_set():
            return False
        return not assigned or all(r.joined for r in worker.runners)

    while not joined():
        if task.done():
            task.result()  # raises what stopped the worker
        if time.monotonic() > deadline:
            raise TimeoutError(f"agents did not join their groups within {timeout_s:.0f} s")
        await asyncio.sleep(0.05)


async def wait_for(condition: Any, timeout_s: float = 30.0, what: str = "condition") -> None:
    """Poll `condition()` until it is true, or fail naming `what`."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        await asyncio.sleep(0.05)
