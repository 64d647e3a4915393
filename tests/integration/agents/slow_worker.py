"""A worker type of pool WORK_POOL doing kind "slow": logs "<ping>/<n> start" to
WORK_LOG, sleeps WORK_SLEEP_S, then answers; run as its own process so the test can
kill it -9 mid-task."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from hivebus import Context
from hivebus.patterns import Workers

pool = Workers(os.environ["WORK_POOL"], partitions=3)
LOG = Path(os.environ["WORK_LOG"])


def _log(line: str) -> None:
    with LOG.open("a") as log:
        log.write(f"{line}\n")


async def slow(arguments: Any, ctx: Context) -> dict[str, Any]:
    _log(f"{arguments['ping']}/{arguments['n']} start")
    await asyncio.sleep(float(os.environ.get("WORK_SLEEP_S", "2")))
    return {"n": arguments["n"], "done_by": os.getpid()}


worker = pool.worker(os.environ["WORK_GROUP"], {"slow": slow}, max_in_flight=16)
