"""Workload (d): durable runs — what journaling a step costs, and runs per second.

The same 14-step handler (each step a trivial function, so the time is the journaling) runs
in a plain agent and in a durable one (at-least-once and exactly-once), 100 runs at once.
Reported: the time one `await ctx.step(...)` takes, p50 and p99, in each agent, the
overhead over the plain agent (the journal write, acknowledged before the run goes on), and
runs/s from the first event consumed to the last result. With 100 runs at once on two cores
a step's time is mostly its wait in line (for the loop, the producer, the broker); so each
system also runs 10 runs one at a time, whose step p50 is what one journal write costs.

Then the same 14-step run in the peers, each in its own virtual environment as
bench/peers/README.md describes: Restate (`restate`: `ctx.run_typed` per step, journaled by
the Restate server) and DBOS (`dbos` on SQLite, `dbos-postgres` on a throwaway PostgreSQL
cluster: `@DBOS.step()` per step, recorded in its system database). Their step time is the
same `await` around one step, their runs/s from the first run started to the last result. A
peer that cannot run here is reported with its error.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from typing import Any

from bench import runners
from bench.contracts import Job, JobResult
from hivebus import Agent, Context, Publisher
from hivebus.kafka.admin import TopicSpec, admin_client, ensure_topics
from hivebus.testing.worker import running

STEPS = 14
SOLO_RUNS = 10  # one at a time
PEERS = [
    runners.System("restate", "bench.peers.restate_durable", "restate"),
    runners.System("dbos", "bench.peers.dbos_durable", "dbos"),
    runners.System("dbos-postgres", "bench.peers.dbos_durable", "dbos"),
]


def run(runs: int = 100, rounds: int = 2, say: Any = print, peers: bool = True) -> dict[str, Any]:
    say(f"(d) durable runs: {runs} runs at once, {STEPS} steps each, {rounds} round(s)")
    modes: dict[str, dict[str, Any]] = {
        "plain": {}, "durable": {"durable": True},
        "durable-eos": {"durable": True, "guarantee": "exactly_once"},
    }  # fmt: skip
    samples: dict[str, dict[str, list[float]]] = {m: {"step": [], "rate": []} for m in modes}
    for round_no in range(1, rounds + 1):
        for mode, options in modes.items():
            steps, rate = asyncio.run(_measure(runs, options))
            samples[mode]["step"] += steps
            samples[mode]["rate"].append(rate)
            say(f"    (d) round {round_no} {mode:<12} step p50 {_q(steps, 0.5) * 1000:6.2f} ms"
                f"  p99 {_q(steps, 0.99) * 1000:6.2f} ms  {rate:7.1f} runs/s")  # fmt: skip
    systems = {
        mode: {
            "step_p50_ms": 1000 * _q(s["step"], 0.5),
            "step_p99_ms": 1000 * _q(s["step"], 0.99),
            "runs_per_s": statistics.median(s["rate"]),
        }
        for mode, s in samples.items()
    }
    for mode, options in modes.items():
        steps, _ = asyncio.run(_measure(SOLO_RUNS, options, at_once=1))
        systems[mode]["solo_step_p50_ms"] = 1000 * _q(steps, 0.5)
        say(f"    (d) one at a time {mode:<12} step p50 {_q(steps, 0.5) * 1000:6.2f} ms")
    for mode in ("durable", "durable-eos"):
        for q in ("p50", "p99"):
            systems[mode][f"overhead_{q}_ms"] = (
                systems[mode][f"step_{q}_ms"] - systems["plain"][f"step_{q}_ms"]
            )
    for peer in PEERS if peers else []:
        systems[peer.name] = _peer(peer, runs, rounds, say)
        solo = _peer(peer, 1, SOLO_RUNS, say)
        if "step_p50_ms" in solo:
            systems[peer.name]["solo_step_p50_ms"] = solo["step_p50_ms"]
    return {"workload": "durable", "runs": runs, "steps": STEPS, "rounds": rounds,
            "systems": systems}  # fmt: skip


async def _measure(
    runs: int, options: dict[str, Any], at_once: int | None = None
) -> tuple[list[float], float]:
    """Step times and runs/s of `runs` runs, published `at_once` at a time (all by default)."""
    tag = uuid.uuid4().hex[:8]
    source, output = f"bench.durable.{tag}", f"bench.durable-out.{tag}"
    ensure_topics(admin_client(), [TopicSpec(source, 3), TopicSpec(output, 3)])
    agent = Agent(f"bench-durable-{tag}", max_in_flight=runs, **options)
    step_times: list[float] = []
    clock: dict[str, float] = {}
    done = asyncio.Event()
    finished = 0

    @agent.on(source, Job, output=output)
    async def fourteen(job: Job, ctx: Context) -> JobResult:
        clock.setdefault("first", time.perf_counter())
        for n in range(STEPS):
            started = time.perf_counter()
            await ctx.step(f"step-{n}", _tool, n)
            step_times.append(time.perf_counter() - started)
        return JobResult(id=job.id, key=job.key, seq=job.seq, sent_at_us=job.sent_at_us,
                         started_at_us=0, system="hivebus")  # fmt: skip

    counter = Agent(f"bench-durable-count-{tag}", max_in_flight=runs)

    @counter.on(output, JobResult)
    async def seen(result: JobResult, ctx: Context) -> None:
        nonlocal finished
        finished += 1
        if finished >= wave:
            clock["last"] = time.perf_counter()
            done.set()

    wave = at_once or runs
    async with running([agent, counter]), Publisher("bench-durable") as publisher:
        for start in range(0, runs, wave):
            finished = 0
            done.clear()
            for i in range(start, min(runs, start + wave)):
                job = Job(id=f"run-{i}", key=f"k{i}", seq=0, delay_ms=0, sent_at_us=0)
                await publisher.publish(source, job, key=job.key)
            await asyncio.wait_for(done.wait(), timeout=300)
    return step_times, runs / (clock["last"] - clock["first"])


def _peer(peer: runners.System, runs: int, rounds: int, say: Any) -> dict[str, Any]:
    """One peer's rounds in its own venv; the same figures as a hivebus mode, or an error."""
    config = {"runs": runs, "steps": STEPS, "rounds": rounds}
    result = runners.run(peer, "durable", config, timeout_s=300.0 * rounds)
    if "error" in result or not result.get("step_ms"):
        error = result.get("error") or result.get("unsupported") or "no result"
        say(f"    (d) {peer.name:<12} failed: {error}")
        return {"error": str(error)}
    steps = [ms / 1000 for ms in result["step_ms"]]
    rates = [float(r) for r in result["runs_per_s"]]
    p50, p99, rate = 1000 * _q(steps, 0.5), 1000 * _q(steps, 0.99), statistics.median(rates)
    say(f"    (d) {rounds} round(s) {peer.name:<14} step p50 {p50:6.2f} ms  p99 {p99:6.2f} ms"
        f"  {rate:7.1f} runs/s")  # fmt: skip
    return {"step_p50_ms": p50, "step_p99_ms": p99, "runs_per_s": rate,
            "rounds_runs_per_s": rates}  # fmt: skip


def _tool(n: int) -> dict[str, int]:
    return {"step": n}


def _q(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")
