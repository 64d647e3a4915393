"""Calls between agents from durable runs, on the real broker and registry: a request sent
once across a killed caller, replies routed to their runs, gathers with their policies."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient

from hivebus import Agent, Callee, Context, DurableContext, Gathered, Retry
from hivebus.contracts import Serde
from hivebus.dev import Endpoints
from hivebus.durable.reader import read_journals as journals
from hivebus.testing.reader import read_events
from hivebus.testing.stack import unique_name
from hivebus.testing.worker import running
from tests.integration.runtime_contracts import Ping, Pong
from tests.integration.runtime_support import hivebus, pings, publish, topics, until

CALLER = Path(__file__).parent / "agents" / "durable_caller.py"
SESSION = ["--consumer-config", "session.timeout.ms=6000", "--consumer-config",
           "heartbeat.interval.ms=1000"]  # fmt: skip


def _caller(env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "hivebus.cli", "run", str(CALLER), "--grace=2", *SESSION]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)


def _pricer(name: str, requests: str, replies: str, seen: Counter[str]) -> Agent:
    """A plain agent that answers each request (counting them) with a priced Pong."""
    pricer = Agent(name)

    @pricer.on(requests, Ping, output=replies)
    async def price(request: Ping, ctx: Context) -> Pong | None:
        seen[request.id] += 1
        if request.payload == "silent":
            return None
        return Pong(id=request.id, key=request.key, seq=request.seq,
                    handled_by=f"priced {request.id}")  # fmt: skip

    return pricer


async def test_a_killed_caller_restarts_waiting_and_never_sends_a_request_twice(
    stack: Endpoints, admin: AdminClient, registry: SchemaRegistryClient, tmp_path: Path
) -> None:
    source, output, requests, replies = (
        topics(admin, "caller")[0], topics(admin, "caller-out")[0],
        topics(admin, "price-req")[0], topics(admin, "price-quote")[0],
    )  # fmt: skip
    name, log = unique_name("caller"), tmp_path / "steps.log"
    env = {**os.environ, "DURABLE_AGENT": name, "DURABLE_SOURCE": source,
           "DURABLE_OUTPUT": output, "DURABLE_STEP_LOG": str(log), "CALL_TOPIC": requests,
           "REPLY_TOPIC": replies}  # fmt: skip
    serde = Serde(registry)
    first = _caller(env)
    second: subprocess.Popen[bytes] | None = None
    seen: Counter[str] = Counter()
    try:
        await publish(source, pings(20))

        def all_waiting() -> bool:
            found = journals(serde, name)
            return len(found) == 20 and all(j.state == "waiting" for j in found.values())

        await until(all_waiting, 90)
        first.kill()  # -9: every run has sent its request and waits for the reply
        first.wait(10)
        second = _caller(env)
        await asyncio.sleep(8)  # the restarted worker restores the runs; it must not resend
        async with running([_pricer(unique_name("pricer"), requests, replies, seen)]):
            got = await read_events(serde, output, Pong, 20, timeout_s=120, committed_only=True)
            await asyncio.sleep(2)
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(40)

    sent = await read_events(serde, requests, Ping, 21, timeout_s=3)
    assert sorted(r.event.id for r in sent) == sorted(f"p{i}" for i in range(20)), "sent once"
    assert set(seen.values()) == {1} and len(seen) == 20
    # Each reply reached the run that asked: the output names its own request.
    assert sorted((r.event.id, r.event.handled_by) for r in got) == sorted(
        (f"p{i}", f"priced p{i}") for i in range(20)
    )
    steps = Counter(line for line in log.read_text().splitlines())
    assert all(steps[f"p{i} before"] == 1 and steps[f"p{i} after"] == 1 for i in range(20))
    # The request was a step: its id names the caller, the call's position and the run.
    assert all(r.meta is not None and r.meta.id.startswith(f"call:{name}:1:") for r in sent)


async def test_gather_returns_the_first_n_or_what_came_by_its_deadline_and_replays_it(
    stack: Endpoints, admin: AdminClient, registry: SchemaRegistryClient
) -> None:
    source, output = topics(admin, "gather")[0], topics(admin, "gather-out")[0]
    requests, replies = topics(admin, "g-req")[0], topics(admin, "g-quote")[0]
    durable_requests, durable_replies = topics(admin, "g-dreq")[0], topics(admin, "g-dquote")[0]
    pricing = Callee(requests, reply_topic=replies, returns=Pong)
    checking = Callee(durable_requests, reply_topic=durable_replies, returns=Pong)
    name = unique_name("gather")
    agent = Agent(name, durable=True, calls=[pricing, checking])
    branch_runs: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    outcomes: dict[str, Gathered] = {}

    def local(run: str) -> str:
        branch_runs[run] += 1
        return f"local {run}"

    @agent.on(source, Ping, output=output)
    async def handle(ping: Ping, ctx: DurableContext) -> Pong:
        first, timeout = (2, 600.0) if ping.payload == "first" else (None, 6.0)
        gathered = await ctx.gather(
            ctx.call(pricing, Ping(id=f"{ping.id}-a", key=ping.key, seq=0)),
            ctx.call(pricing, Ping(id=f"{ping.id}-b", key=ping.key, seq=0, payload="silent")),
            ctx.branch("local", local, ping.id),
            ctx.call(checking, Ping(id=f"{ping.id}-c", key=ping.key, seq=0)),
            first=first, timeout_s=timeout,
        )  # fmt: skip
        outcomes[ping.id] = gathered
        await ctx.step("after", lambda: None)
        if ctx.attempt == 1:
            raise RuntimeError("fail once after the gather: the retry replays it")
        summary = {"done": gathered.done, "missing": gathered.missing,
                   "results": [getattr(r, "handled_by", r) for r in gathered.results]}  # fmt: skip
        return Pong(id=ping.id, key=ping.key, seq=ping.seq, handled_by=json.dumps(summary))

    checker = Agent(unique_name("checker"), durable=True)  # a durable callee

    @checker.on(durable_requests, Ping, output=durable_replies)
    async def check(request: Ping, ctx: Context) -> Pong:
        checked = await ctx.step("check", lambda: f"checked {request.id}")
        return Pong(id=request.id, key=request.key, seq=0, handled_by=checked)

    serde = Serde(registry)
    pricer = _pricer(unique_name("pricer"), requests, replies, seen)
    async with running([agent, pricer, checker]):
        await publish(source, [Ping(id="deadline", key="k1", seq=0),
                               Ping(id="first", key="k2", seq=0, payload="first")])  # fmt: skip

        def waiting() -> bool:  # the deadline run, while its deadline is ahead
            return any("more repl" in (j.waiting_for or "") for j in journals(serde, name).values())

        await until(waiting, 30)
        listed = hivebus("runs", "list", "--agent", name)
        got = await read_events(serde, output, Pong, 2, timeout_s=60)

    by_id = {r.event.id: json.loads(r.event.handled_by) for r in got}
    # all, with a deadline: the silent call is missing; everything else came
    assert by_id["deadline"] == {
        "done": [0, 2, 3], "missing": [1],
        "results": ["priced deadline-a", None, "local deadline", "checked deadline-c"],
    }  # fmt: skip
    # first=2: it went on with the first two that succeeded, long before its deadline
    assert len(by_id["first"]["done"]) == 2 and 1 not in by_id["first"]["done"]
    assert by_id["first"]["missing"] == sorted({0, 1, 2, 3} - set(by_id["first"]["done"]))
    # The retry after the gather replayed it: the branch ran once, each request went once.
    assert branch_runs["deadline"] == 1 and branch_runs["first"] <= 1
    assert seen["deadline-a"] == 1 and seen["deadline-b"] == 1
    # while it waited, the runs list said for what, and how much had come
    assert re.search(r"waiting for \d more repl(y|ies) \(\d of 4 in\) \(until ", listed.stdout)
    journal = {j.run_id: j for j in journals(serde, name).values()}
    deadline_run = next(
        j for j in journal.values() if "deadline" in j.input_value.decode("latin-1")
    )
    assert [s.name for s in sorted(deadline_run.steps, key=lambda s: s.seq)] == [
        f"hivebus:call:{requests}", f"hivebus:call:{requests}", "local",
        f"hivebus:call:{durable_requests}", "hivebus:gather", "hivebus:gathered", "after",
    ]  # fmt: skip


async def test_collect_takes_every_answer_to_one_request_until_enough_and_replays_the_same(
    stack: Endpoints, admin: AdminClient, registry: SchemaRegistryClient
) -> None:
    source, output = topics(admin, "collect")[0], topics(admin, "collect-out")[0]
    requests, replies = topics(admin, "c-req")[0], topics(admin, "c-bid")[0]
    bidding = Callee(requests, reply_topic=replies, returns=Pong)
    name = unique_name("collector")
    agent = Agent(name, durable=True, calls=[bidding], retry=Retry(attempts=2, backoff_s=0.05))
    collected: dict[str, list[list[str]]] = {}

    @agent.on(source, Ping, output=output)
    async def handle(ping: Ping, ctx: DurableContext) -> Pong:
        count, timeout = (3, 600.0) if ping.payload == "count" else (None, 4.0)
        got = await ctx.collect(bidding, Ping(id=ping.id, key=ping.key, seq=0),
                                count=count, timeout_s=timeout)  # fmt: skip
        collected.setdefault(ping.id, []).append([r.handled_by for r in got])
        if ctx.attempt == 1:
            raise RuntimeError("fail once after the collect: the retry replays it")
        return Pong(id=ping.id, key=ping.key, seq=0, handled_by=",".join(r.handled_by for r in got))

    bidders = []
    for n in range(5):  # five agents answer every request
        bidder = Agent(unique_name(f"bidder{n}"))

        @bidder.on(requests, Ping, output=replies)
        async def bid(request: Ping, ctx: Context, n: int = n) -> Pong:
            return Pong(id=request.id, key=request.key, seq=0, handled_by=f"b{n}")

        bidders.append(bidder)
    serde = Serde(registry)
    async with running([agent, *bidders]):
        await publish(source, [Ping(id="count", key="k1", seq=0, payload="count"),
                               Ping(id="deadline", key="k2", seq=0)])  # fmt: skip
        got = await read_events(serde, output, Pong, 2, timeout_s=60)

    by_id = {r.event.id: r.event.handled_by.split(",") for r in got}
    assert len(by_id["count"]) == 3 and len(set(by_id["count"])) == 3  # the first three
    assert sorted(by_id["deadline"]) == [f"b{n}" for n in range(5)]  # all that came in time
    for attempts in collected.values():  # the retry got the very same list
        assert len(attempts) == 2 and attempts[0] == attempts[1]
