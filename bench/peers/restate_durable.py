"""Restate (`restate-sdk` with the `@restatedev/restate-server` server): system `restate`,
workload `durable`.

Restate's idiom: a `restate.Service` whose handler wraps each side effect in
`await ctx.run_typed(name, fn, options, *args)`; the SDK sends the step's result to the
server, which appends it to the invocation's journal in its durable log, and the handler goes
on once the server acknowledges the entry. The services are an ASGI app (`restate.app(...)`)
served with Hypercorn, as the SDK's docs do (HTTP/2, so an invocation is one bidirectional
stream and nothing is replayed unless it is retried); the deployment is registered through
the admin API (`POST /deployments`), and runs are invoked over the ingress with HTTP
(`POST /<service>/<handler>`, which waits for the result). The server runs as its npm package
installs it, with a fresh base directory and default settings (one node, its log on local
RocksDB), on free ports of 127.0.0.1.

Each run is the 14-step handler of bench/durable.py: each step the trivial `tool(n)` (an
`async def`, so the SDK runs it on the event loop rather than in a thread), timed around
`await ctx.run_typed(...)`; a step whose result came from a replayed journal is not counted.
Runs/s is from the first handler started to the last result received. The SDK endpoint and
the clients share this process, as hivebus's agent and its publisher do in bench/durable.py.
Invoked as `bench/.venvs/restate/bin/python -m bench.peers.restate_durable durable
'{"system": "restate", "runs": 100, "steps": 14, "rounds": 2}'`; prints one JSON line.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import restate
from hypercorn.asyncio import serve
from hypercorn.config import Config as HypercornConfig

from bench.peers.common import durable_config, emit_durable
from bench.peers.venvs import ensure_restate_server

SYSTEMS = ("restate",)
STEPS = 14
_state: dict[str, Any] = {"steps": STEPS, "times": [], "first": 0.0}

service = restate.Service("BenchDurable")
INVOKE = "/BenchDurable/fourteen"  # the ingress path of the handler below


async def tool(n: int) -> dict[str, int]:
    return {"step": n}


@service.handler()
async def fourteen(ctx: restate.Context, run: int) -> int:
    if not _state["first"]:
        _state["first"] = time.perf_counter()
    executed: list[int] = []

    async def step(n: int) -> dict[str, int]:
        executed.append(n)  # only when the step runs, not when its result is replayed
        return await tool(n)

    times: list[float] = _state["times"]
    for n in range(_state["steps"]):
        started = time.perf_counter()
        await ctx.run_typed(f"step-{n}", step, restate.RunOptions(), n)
        if executed and executed[-1] == n:
            times.append(time.perf_counter() - started)
    return run


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _restate_server(workdir: Path) -> Iterator[tuple[str, str]]:
    """A one-node Restate server with its data in `workdir`; yields (ingress, admin) URLs."""
    binary = ensure_restate_server()
    ingress, admin, fabric = _free_port(), _free_port(), _free_port()
    (workdir / "restate.toml").write_text(
        f'bind-address = "127.0.0.1:{fabric}"\n'
        f'advertised-address = "http://127.0.0.1:{fabric}/"\n'
        "disable-telemetry = true\n"
        f'[admin]\nbind-address = "127.0.0.1:{admin}"\n'
        f'[ingress]\nbind-address = "127.0.0.1:{ingress}"\n'
    )  # fmt: skip
    log = (workdir / "restate-server.log").open("wb")
    process = subprocess.Popen(
        [str(binary), "--config-file", str(workdir / "restate.toml"), "--base-dir",
         str(workdir / "data"), "--no-logo", "--listen-mode", "tcp",
         "--log-disable-ansi-codes", "true"],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "DO_NOT_TRACK": "1"},
    )  # fmt: skip
    try:
        yield f"http://127.0.0.1:{ingress}", f"http://127.0.0.1:{admin}"
    except BaseException:
        log.flush()
        tail = (workdir / "restate-server.log").read_text(errors="replace")[-2000:]
        print(f"restate-server log (tail):\n{tail}", file=sys.stderr)
        raise
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


async def _until(what: str, probe: Any, timeout_s: float = 60.0) -> Any:
    """Call `probe()` until it returns a response with a 2xx status; that response."""
    deadline, last = time.monotonic() + timeout_s, "no answer"
    while time.monotonic() < deadline:
        try:
            response = await probe()
            if response.is_success:
                return response
            last = f"HTTP {response.status_code}: {response.text[:300]}"
        except httpx.TransportError as e:
            last = repr(e)
        await asyncio.sleep(0.2)
    raise RuntimeError(f"{what}: {last}")


async def _round(client: httpx.AsyncClient, ingress: str, runs: int) -> tuple[list[float], float]:
    _state["times"], _state["first"] = [], 0.0
    url = f"{ingress}{INVOKE}"
    responses = await asyncio.gather(*(client.post(url, json=i) for i in range(runs)))
    last = time.perf_counter()
    bad = [r for r in responses if not r.is_success]
    if bad:
        raise RuntimeError(f"{len(bad)} runs failed: HTTP {bad[0].status_code} {bad[0].text}")
    assert sorted(r.json() for r in responses) == list(range(runs))
    return list(_state["times"]), runs / (last - _state["first"])


async def _bench(runs: int, rounds: int, timeout_s: float) -> list[tuple[list[float], float]]:
    endpoint_port = _free_port()
    config = HypercornConfig()
    config.bind = [f"127.0.0.1:{endpoint_port}"]
    stop = asyncio.Event()
    app = restate.app(services=[service])
    serving = asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait))
    limits = httpx.Limits(max_connections=runs, max_keepalive_connections=runs)
    try:
        with (
            tempfile.TemporaryDirectory(prefix="bench-restate-") as tmp,
            _restate_server(Path(tmp)) as (ingress, admin),
        ):
            async with httpx.AsyncClient(timeout=timeout_s, limits=limits) as client:
                await _until("restate admin", lambda: client.get(f"{admin}/health"))
                deployment = {"uri": f"http://127.0.0.1:{endpoint_port}", "force": True}
                await _until(
                    "registering the deployment",
                    lambda: client.post(f"{admin}/deployments", json=deployment),
                )
                # warm-up: the first run, once the ingress knows the service (not counted)
                await _until("first run", lambda: client.post(f"{ingress}{INVOKE}", json=0))
                return [await _round(client, ingress, runs) for _ in range(rounds)]
    finally:
        stop.set()
        await serving


def main(argv: list[str]) -> int:
    config = durable_config(argv, "restate_durable", SYSTEMS)
    _state["steps"] = config.steps
    samples = asyncio.run(_bench(config.runs, config.rounds, config.timeout_s))
    emit_durable(config, samples)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
