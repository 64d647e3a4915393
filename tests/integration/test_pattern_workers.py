"""Orchestrator-Worker on the real broker and registry: a worker killed -9 mid-task and its
task redone by another replica; a deadline join with a worker type missing, its late result
kept on the results topic; a new worker type joining by subscribing alone; first-N joins."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient

from hivebus import Agent, Context, DurableContext, Retry
from hivebus.contracts import Serde
from hivebus.dev import Endpoints
from hivebus.patterns import Joined, Workers, WorkResult
from hivebus.testing.reader import read_events
from hivebus.testing.stack import unique_name
from hivebus.testing.worker import running
from tests.integration.runtime_contracts import Ping, Pong
from tests.integration.runtime_support import pings, publish, topics, until

WORKER = Path(__file__).parent / "agents" / "slow_worker.py"
SESSION = ["--consumer-config", "session.timeout.ms=6000", "--consumer-config",
           "heartbeat.interval.ms=1000"]  # fmt: skip


def _orchestrator(
    pool: Workers, source: str, output: str, plan: list[tuple[str, Any]], joins: dict[str, Joined],
    **join: Any,
) -> Agent:  # fmt: skip
    """A durable orchestrator: for each Ping, the tasks of `plan` joined with `join`'s policy;
    its Pong says which succeeded, failed and were missing."""
    agent = Agent(unique_name("orchestrator"), durable=True, calls=pool.calls)

    @agent.on(source, Ping, output=output)
    async def orchestrate(ping: Ping, ctx: DurableContext) -> Pong:
        tasks = [pool.task(ctx, kind, {**arguments, "ping": ping.id}) for kind, arguments in plan]
        joined = await pool.join(ctx, tasks, **join)
        joins[ping.id] = joined
        summary = {"ok": joined.succeeded, "failed": joined.failed, "missing": joined.missing}
        return Pong(id=ping.id, key=ping.key, seq=ping.seq, handled_by=json.dumps(summary))

    return agent


def _worker_process(env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "hivebus.cli", "run", str(WORKER), "--grace=2", *SESSION]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)


async def test_a_worker_killed_mid_task_is_replaced_and_the_join_gets_every_result(
    stack: Endpoints, admin: AdminClient, registry: SchemaRegistryClient, tmp_path: Path
) -> None:
    source, output = topics(admin, "orch")
    pool, log = Workers(unique_name("pool"), partitions=3), tmp_path / "work.log"
    env = {**os.environ, "WORK_POOL": pool.name, "WORK_LOG": str(log), "WORK_SLEEP_S": "4",
           "WORK_GROUP": unique_name("slow-worker")}  # fmt: skip
    joins: dict[str, Joined] = {}
    plan = [("slow", {"n": n}) for n in range(6)]
    serde = Serde(registry)
    first = _worker_process(env)
    second: subprocess.Popen[bytes] | None = None
    try:
        async with running([_orchestrator(pool, source, output, plan, joins, timeout_s=120)]):
            await publish(source, pings(2))

            def all_started() -> bool:
                return log.exists() and len(log.read_text().splitlines()) >= 12

            await until(all_started, 90)  # 12 tasks in flight in the first worker
            first.kill()
            first.wait(10)
            second = _worker_process(env)  # a replica of the same worker type
            got = await read_events(serde, output, Pong, 2, timeout_s=120, committed_only=True)
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(40)
    assert sorted(r.event.id for r in got) == ["p0", "p1"]
    for received in got:
        assert json.loads(received.event.handled_by) == {
            "ok": list(range(6)), "failed": [], "missing": []
        }  # fmt: skip
    # Every task was started in the killed worker and again in its replacement.
    starts = Counter(log.read_text().splitlines())
    assert set(starts.values()) == {2} and len(starts) == 12
    pids = {r.value()["done_by"] for j in joins.values() for r in j.results if r is not None}
    assert pids == {second.pid if second else -1}


def _search_worker(pool: Workers, name: str, seen: Counter[str]) -> Agent:
    async def search(arguments: Any, ctx: Context) -> list[str]:
        seen[arguments["ping"]] += 1
        return [f"hit for {arguments['q']}"]

    return pool.worker(name, {"search": search})


def _has_extract(results: list[Any]) -> bool:
    return any(r.event.kind == "extract" for r in results)


async def test_a_deadline_join_goes_on_without_a_missing_worker_type_that_joins_later(
    stack: Endpoints, admin: AdminClient, registry: SchemaRegistryClient
) -> None:
    source, output = topics(admin, "orch")
    pool = Workers(unique_name("pool"), partitions=3)
    joins: dict[str, Joined] = {}
    plan = [("search", {"q": "heat pumps"}), ("extract", {"text": "..."})]
    orchestrator = _orchestrator(pool, source, output, plan, joins, timeout_s=3)
    seen: Counter[str] = Counter()
    extracted: list[str] = []

    async def extract(arguments: Any, ctx: Context) -> dict[str, str]:
        extracted.append(arguments["ping"])
        return {"company": "Acme"}

    serde = Serde(registry)
    async with running([orchestrator, _search_worker(pool, unique_name("searcher"), seen)]):
        await publish(source, pings(1))
        first = await read_events(serde, output, Pong, 1, timeout_s=60, committed_only=True)
        assert json.loads(first[0].event.handled_by) == {"ok": [0], "failed": [], "missing": [1]}
        # The extract worker type arrives: it subscribes, and nothing else changes.
        async with running([pool.worker(unique_name("extractor"), {"extract": extract})]):
            # The task the first join gave up on is done now: its result is kept, keyed by
            # the request's correlation, on the results topic.
            late = await read_events(serde, pool.results_topic, WorkResult, 2, timeout_s=30,
                                     until=_has_extract)  # fmt: skip
            await publish(source, [Ping(id="p1", key="k1", seq=0)])
            got = await read_events(serde, output, Pong, 2, timeout_s=60, committed_only=True)
    late_extract = [r for r in late if r.event.kind == "extract"]
    assert len(late_extract) == 1 and late_extract[0].event.ok
    assert late_extract[0].key == late_extract[0].event.correlation_id
    assert late_extract[0].event.id == joins["p0"].tasks[1].id  # the one the join missed
    second = next(r for r in got if r.event.id == "p1")
    assert json.loads(second.event.handled_by) == {"ok": [0, 1], "failed": [], "missing": []}
    assert extracted == ["p0", "p1"] and seen == Counter({"p0": 1, "p1": 1})


async def test_first_n_takes_the_quickest_and_failures_are_answers(
    stack: Endpoints, admin: AdminClient, registry: SchemaRegistryClient
) -> None:
    source, output = topics(admin, "orch")
    pool = Workers(unique_name("pool"), partitions=3)
    joins: dict[str, Joined] = {}

    async def tool(arguments: Any, ctx: Context) -> str:
        if arguments["delay"] < 0:
            raise ValueError("this tool is broken")
        await asyncio.sleep(arguments["delay"])
        return f"slept {arguments['delay']}"

    plan = [("tool", {"delay": d}) for d in (6.0, 0.1, -1, 0.2)]
    orchestrator = _orchestrator(pool, source, output, plan, joins, first=3, timeout_s=30)
    serde = Serde(registry)
    retry = Retry(attempts=2, backoff_s=0.01)
    worker = pool.worker(unique_name("tools"), {"tool": tool}, retry=retry)
    async with running([orchestrator, worker]):
        await publish(source, pings(1))
        got = await read_events(serde, output, Pong, 1, timeout_s=60, committed_only=True)
    summary = json.loads(got[0].event.handled_by)
    assert summary == {"ok": [1, 3], "failed": [2], "missing": [0]}
    failed = joins["p0"].results[2]
    assert failed is not None and failed.attempts == 2 and "this tool is broken" in failed.error
    assert joins["p0"].outputs() == {joins["p0"].tasks[1].id: "slept 0.1",
                                     joins["p0"].tasks[3].id: "slept 0.2"}  # fmt: skip
