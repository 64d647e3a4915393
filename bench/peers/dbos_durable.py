"""DBOS Transact (`dbos`): systems `dbos` (SQLite) and `dbos-postgres` (PostgreSQL), workload
`durable`.

DBOS's idiom: decorate a function with `@DBOS.workflow()` and the functions it calls with
`@DBOS.step()`, configure `DBOS(config={"name": ..., "system_database_url": ...})` and call
`DBOS.launch()`. A step's output is written to the system database before the workflow goes
on, which is what makes it durable (a recovered workflow gets the recorded outputs back). The
workflow and its steps are `async def`, and runs are started with
`await DBOS.start_workflow_async(...)` and awaited with `handle.get_result()`: DBOS's
documented way to run many workflows at once on one asyncio event loop (its database calls
go to DBOS's thread pool). Durability is left at its defaults.

`dbos`: the system database is a SQLite file in a temporary directory, DBOS's default for a
local application. `dbos-postgres`: a throwaway PostgreSQL cluster (Debian's `postgresql`
package; `initdb`/`pg_ctl`, run as the `postgres` user when root) in a temporary directory,
listening on 127.0.0.1 on a free port with default settings (fsync, synchronous commit).

Each run is the 14-step workflow of bench/durable.py: each step the trivial `tool(n)`, timed
around `await tool(n)` (DBOS executes each step once; none is replayed here). Runs/s is from
the first workflow's start to the last result. Invoked as
`bench/.venvs/dbos/bin/python -m bench.peers.dbos_durable durable '{"system": "dbos", "runs":
100, "steps": 14, "rounds": 2}'`; prints one JSON line (`bench.peers.restate_durable` has the
same protocol).
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dbos import DBOS

from bench.peers.common import LOGLEVEL, durable_config, emit_durable

SYSTEMS = ("dbos", "dbos-postgres")
STEPS = 14
_state: dict[str, Any] = {"steps": STEPS, "times": [], "first": 0.0}


@DBOS.step()
async def tool(n: int) -> dict[str, int]:
    return {"step": n}


@DBOS.workflow()
async def fourteen(run: int) -> int:
    if not _state["first"]:
        _state["first"] = time.perf_counter()
    times: list[float] = _state["times"]
    for n in range(_state["steps"]):
        started = time.perf_counter()
        await tool(n)
        times.append(time.perf_counter() - started)
    return run


async def _round(runs: int, timeout_s: float) -> tuple[list[float], float]:
    _state["times"], _state["first"] = [], 0.0
    handles = [await DBOS.start_workflow_async(fourteen, i) for i in range(runs)]
    results = await asyncio.wait_for(asyncio.gather(*(h.get_result() for h in handles)), timeout_s)
    last = time.perf_counter()
    assert sorted(results) == list(range(runs))
    return list(_state["times"]), runs / (last - _state["first"])


async def _rounds(runs: int, rounds: int, timeout_s: float) -> list[tuple[list[float], float]]:
    await _round(1, timeout_s)  # warm-up: the first workflow (not counted)
    return [await _round(runs, timeout_s) for _ in range(rounds)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _initdb() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return found[-1] if found else shutil.which("initdb")


@contextlib.contextmanager
def _postgres(workdir: Path) -> Iterator[str]:
    """A throwaway PostgreSQL cluster in `workdir`; yields its URL for DBOS."""
    initdb = _initdb()
    if not initdb and os.geteuid() == 0 and shutil.which("apt-get"):
        print("[dbos] installing PostgreSQL from Debian's packages", file=sys.stderr, flush=True)
        quiet_apt: dict[str, Any] = {"check": True, "stdout": sys.stderr, "stderr": sys.stderr}
        subprocess.run(["apt-get", "update", "-q"], **quiet_apt)
        subprocess.run(["apt-get", "install", "-y", "-q", "postgresql"], **quiet_apt,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})  # fmt: skip
        initdb = _initdb()
    if not initdb:
        raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
    bindir = Path(initdb).parent
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    data = workdir / "pg"
    data.mkdir()
    if as_user:
        shutil.chown(workdir, "postgres")
        shutil.chown(data, "postgres")
    port = _free_port()
    quiet: dict[str, Any] = {"check": True, "stdout": sys.stderr, "stderr": sys.stderr}
    subprocess.run([*as_user, str(initdb), "-D", str(data), "-U", "bench", "--auth=trust",
                    "-E", "UTF8", "--no-instructions"], **quiet)  # fmt: skip
    options = f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1"
    pg_ctl = [*as_user, str(bindir / "pg_ctl"), "-D", str(data)]
    subprocess.run([*pg_ctl, "-o", options, "-l", str(workdir / "pg.log"), "-w", "start"], **quiet)
    try:
        yield f"postgresql://bench@127.0.0.1:{port}/dbos_bench"
    finally:
        subprocess.run([*pg_ctl, "-m", "fast", "-w", "stop"], **quiet)


def main(argv: list[str]) -> int:
    config = durable_config(argv, "dbos_durable", SYSTEMS)
    system, runs, rounds, timeout_s = config.system, config.runs, config.rounds, config.timeout_s
    _state["steps"] = config.steps
    with tempfile.TemporaryDirectory(prefix="bench-dbos-") as tmp, contextlib.ExitStack() as stack:
        if system == "dbos":
            url = f"sqlite:///{tmp}/dbos.sqlite"
        else:
            url = stack.enter_context(_postgres(Path(tmp)))
        DBOS(config={"name": "bench-durable", "system_database_url": url,
                     "log_level": LOGLEVEL})  # fmt: skip
        DBOS.launch()
        try:
            samples = asyncio.run(_rounds(runs, rounds, timeout_s))
        finally:
            DBOS.destroy()
    emit_durable(config, samples)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
