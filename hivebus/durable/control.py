"""Telling a run something from outside: a signal its `ctx.wait_for` takes, or a cancel.

Both are requests on the agent's run inbox, keyed by run id, so they reach the worker that
holds the run and queue behind whatever it is doing now. A signal is kept in the run's
journal until a wait takes it, also when it comes before the run got there.
"""

from __future__ import annotations

import json
from typing import Any

from hivebus.durable.records import CANCEL, RESUME, SIGNAL, RunRequest
from hivebus.durable.run import stamp
from hivebus.durable.topics import runs_topic
from hivebus.runtime import Publisher


async def signal(
    agent: str, run_id: str, name: str, payload: Any = None, *, source: str = "hivebus-cli"
) -> None:
    """Send the signal `name` with a JSON `payload` to run `run_id` of durable agent `agent`."""
    data = json.dumps(payload).encode()
    request = RunRequest(
        run_id=run_id, kind=SIGNAL, signal=name, payload=data, requested_at=stamp()
    )
    await _send(agent, request, source)


async def cancel(agent: str, run_id: str, *, source: str = "hivebus-cli") -> None:
    """Cancel run `run_id`: it stops at its next turn (a sleeping or waiting run at once)."""
    await cancel_all(agent, [run_id], source=source)


async def cancel_all(agent: str, run_ids: list[str], *, source: str = "hivebus-cli") -> None:
    """Cancel each of `run_ids` (one producer for all). A run that has not started yet is
    cancelled ahead of its start; one that has ended is left as it is."""
    async with Publisher(source) as publisher:
        for run_id in run_ids:
            request = RunRequest(run_id=run_id, kind=CANCEL, requested_at=stamp())
            await publisher.publish(runs_topic(agent), request, key=run_id)


async def resume(agent: str, run_id: str, *, source: str = "hivebus-cli") -> None:
    """Run a parked run again, from its journal, once its handler is fixed."""
    await _send(agent, RunRequest(run_id=run_id, kind=RESUME, requested_at=stamp()), source)


async def _send(agent: str, request: RunRequest, source: str) -> None:
    async with Publisher(source) as publisher:
        await publisher.publish(runs_topic(agent), request, key=request.run_id)
