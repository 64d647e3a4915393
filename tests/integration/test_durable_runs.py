"""Durable runs on the real broker and registry: journaled steps, replay, parking."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient

from hivebus import Agent, Context, Publisher, Retry, durable
from hivebus.contracts import Serde
from hivebus.dev import Endpoints
from hivebus.durable import RunRequest, WaitTimedOut, runs_topic
from hivebus.durable.reader import read_journals as journals
from hivebus.durable.topics import blobs_topic
from hivebus.kafka.endpoints import bootstrap_servers
from hivebus.testing.reader import read_events
from hivebus.testing.stack import unique_name
from hivebus.testing.worker import running
from tests.integration.runtime_contracts import Ping, Pong
from tests.integration.runtime_support import (
    committed_offsets,
    hivebus,
    pings,
    publish,
    topics,
    until,
)
from tests.llm_server import ECHO_COMPLETION_TOKENS, ECHO_PROMPT_TOKENS, running_chat_server


async def test_a_run_journals_its_steps_and_a_retry_replays_them_without_running_them_again(
    stack: Endpoints, admin: AdminClient, registry: SchemaRegistryClient
) -> None:
    source, output = topics(admin, "durable")
    name = unique_name("durable")
    agent = Agent(name, durable=True, retry=Retry(attempts=3, backoff_s=0.05))
    ran: Counter[str] = Counter()
    seen: dict[str, list[object]] = {}

    def tool(label: str, ping_id: str) -> dict[str, str]:
        ran[f"{ping_id}:{label}"] += 1
        return {"label": label, "for": ping_id}

    @agent.on(source, Ping, output=output)
    async def handle(ping: Ping, ctx: Context) -> Pong:
        first = await ctx.step("search", tool, "search", ping.id)
        when, ident = await ctx.now(), await ctx.uuid()
        seen.setdefault(ping.id, []).append((when, ident))
        second = await ctx.step("scrape", tool, "scrape", ping.id)
        if ctx.attempt == 1:
            raise RuntimeError("the first attempt fails after two steps")
        third = await ctx.step("extract", tool, "extract", ping.id)
        return Pong(id=ping.id, key=ping.key, seq=ping.seq,
                    handled_by="/".join(s["label"] for s in (first, second, third)))  # fmt: skip

    async with running([agent]):
        await publish(source, pings(5))
        got = await read_events(Serde(registry), output, Pong, 5, timeout_s=60)
        await asyncio.sleep(0.5)

    assert sorted(r.event.id for r in got) == [f"p{i}" for i in range(5)]
    assert {r.event.handled_by for r in got} == {"search/scrape/extract"}
    # Two attempts per run, yet each step ran once: the retry replayed the journal.
    assert set(ran.values()) == {1} and len(ran) == 15, ran
    for attempts in seen.values():  # now() and uuid() replay as first recorded
        assert len(attempts) == 2 and attempts[0] == attempts[1]
    recorded = journals(Serde(registry), name)
    assert len(recorded) == 5
    for journal in recorded.values():
        assert journal.state == "completed"
        assert [s.name for s in journal.steps] == [
            "search",
            "hivebus:now",
            "hivebus:uuid",
            "scrape",
            "extract",
        ]
        assert all(s.outcome == "ok" for s in journal.steps)


async def test_a_handler_that_changed_its_steps_under_a_run_parks_it_naming_both_steps(
    stack: Endpoints, admin: AdminClient, registry: SchemaRegistryClient
) -> None:
    source, output = topics(admin, "diverge")
    name = unique_name("diverge")
    agent = Agent(name, durable=True, retry=Retry(attempts=3, backoff_s=0.05))

    @agent.on(source, Ping, output=output)
    async def handle(ping: Ping, ctx: Context) -> Pong:
        # attempt 1 records "plan" and fails; attempt 2 asks for "draft" where "plan" was
        await ctx.step("plan" if ctx.attempt == 1 else "draft", lambda: "x")
        if ctx.attempt == 1:
            raise RuntimeError("fail once")
        return Pong(id=ping.id, key=ping.key, seq=ping.seq)

    serde = Serde(registry)
    async with running([agent]):
        await publish(source, pings(1))

        def parked() -> bool:
            return any(j.state == "parked" for j in journals(serde, name).values())

        await until(parked, 60)
        outputs = await read_events(serde, output, Pong, 1, timeout_s=2)

    [journal] = journals(serde, name).values()
    assert journal.detail is not None
    assert "step 0" in journal.detail and "'plan'" in journal.detail
    assert "'draft'" in journal.detail and journal.run_id in journal.detail
    assert outputs == []


# ---- a crash at step 11 of 14 resumes at step 11 ----

FOURTEEN = Path(__file__).parent / "agents" / "durable_fourteen.py"
SESSION = ["--consumer-config", "session.timeout.ms=6000", "--consumer-config",
           "heartbeat.interval.ms=1000"]  # fmt: skip


def _worker(
    env: dict[str, str], module: Path = FOURTEEN, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """A `hivebus run` of `module`; its log goes to `log` (read it when a test fails)."""
    command = [sys.executable, "-m", "hivebus.cli", "run", str(module), "--grace=2", *SESSION]
    err = log.open("ab") if log is not None else subprocess.DEVNULL
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=err)


async def test_a_worker_killed_at_step_11_of_14_resumes_at_step_11_and_publishes_once(
    stack: Endpoints, admin: AdminClient, registry: SchemaRegistryClient, tmp_path: Path
) -> None:
    source, output = topics(admin, "fourteen", partitions=1)
    name = unique_name("fourteen")
    log = tmp_path / "steps.log"
    serde = Serde(registry)
    with running_chat_server() as llm:
        env = {
            **os.environ, "DURABLE_AGENT": name, "DURABLE_SOURCE": source,
            "DURABLE_OUTPUT": output, "DURABLE_STEP_LOG": str(log),
            "HIVEBUS_LLM_BASE_URL": llm.base_url, "HIVEBUS_LLM_API_KEY": "test",
        }  # fmt: skip
        first = _worker(env)
        second: subprocess.Popen[bytes] | None = None
        try:
            await publish(source, pings(1))
            await until(lambda: log.exists() and "start 11" in log.read_text(), 90)
            first.kill()  # -9, in the middle of step 11
            first.wait(10)
            second = _worker(env)
            got = await read_events(serde, output, Pong, 1, timeout_s=120, committed_only=True)
            await asyncio.sleep(3)  # anything more would have been committed by now
            again = await read_events(serde, output, Pong, 2, timeout_s=3, committed_only=True)
        finally:
            for process in (first, second):
                if process is not None and process.poll() is None:
                    process.send_signal(signal.SIGTERM)
                    process.wait(40)
        requests = len(llm.requests)

    entries = [line.split() for line in log.read_text().splitlines()]
    started = Counter(int(n) for word, n in entries if word == "start")
    done = Counter(int(n) for word, n in entries if word == "done")
    assert [r.event.id for r in got] == ["p0"]
    assert len(again) == 1, "exactly one final output"
    assert got[0].event.seq == 14 and got[0].event.handled_by == "tool 14"
    # Steps 1-10 were journaled before the crash: each ran once, none again after it.
    assert all(started[n] == 1 and done[n] == 1 for n in range(1, 11)), (started, done)
    # Step 11 was in flight at the crash: it ran again (once), then 12-14 once each.
    assert started[11] == 2 and done[11] == 1
    assert all(started[n] == 1 and done[n] == 1 for n in range(12, 15)), (started, done)
    # LLM requests: the 7 LLM steps (odd ones) once each; step 11's first try never asked.
    assert requests == 7
    [journal] = journals(serde, name).values()
    assert journal.state == "completed"
    assert [s.name for s in journal.steps] == [f"step-{n}" for n in range(1, 15)]
    # Each LLM step's tokens, as the server counted them; tool steps used none.
    for n, step in enumerate(journal.steps, start=1):
        expected = (1, ECHO_PROMPT_TOKENS, ECHO_COMPLETION_TOKENS) if n % 2 else (0, 0, 0)
        assert (step.llm_requests, step.prompt_tokens, step.completion_tokens) == expected, n


# ---- timers, signals, cancel ----


def _waiting_agent(name: str, source: str, output: str, log: list[str]) -> Agent:
    agent = Agent(name, durable=True)

    @agent.on(source, Ping, output=output)
    async def approve(ping: Ping, ctx: Context) -> Pong:
        plan = dict(part.split("=") for part in ping.payload.split())  # "sleep=2 wait=10"
        await ctx.step("draft", log.append, f"draft {ping.id}")
        answer = {"by": "slept"}
        if "sleep" in plan:
            await ctx.sleep(float(plan["sleep"]))
            await ctx.step("woke", log.append, f"woke {ping.id}")
        if "wait" in plan:
            try:
                answer = await ctx.wait_for("approval", timeout_s=float(plan["wait"]))
            except WaitTimedOut:
                answer = {"by": "timeout"}
        return Pong(id=ping.id, key=ping.key, seq=ping.seq, handled_by=answer["by"])

    return agent


async def test_a_durable_sleep_holds_nothing_and_fires_after_a_worker_restart(
    stack: Endpoints, admin: AdminClient, registry: SchemaRegistryClient
) -> None:
    source, output = topics(admin, "sleep", partitions=1)
    name = unique_name("sleep")
    log: list[str] = []
    serde = Serde(registry)
    agent = _waiting_agent(name, source, output, log)
    async with running([agent]):
        await publish(source, [Ping(id="s0", key="k", seq=0, payload="sleep=4")])
        await until(lambda: any(j.state == "sleeping" for j in journals(serde, name).values()))

        # The run gave up its request: the inbox's offset is committed past it.
        def committed() -> list[int]:
            return committed_offsets(f"{name}.runs", runs_topic(name), 6)

        await until(lambda: max(committed()) == 1)
        [journal] = journals(serde, name).values()
    await asyncio.sleep(1)
    async with running([_waiting_agent(name, source, output, log)]):  # a new worker
        got = await read_events(serde, output, Pong, 1, timeout_s=30)
    assert [r.event.handled_by for r in got] == ["slept"]
    assert log == ["draft s0", "woke s0"]  # the draft ran once, before the restart
    assert journal.wake_at is not None
    wake_at_ms = datetime.fromisoformat(journal.wake_at).timestamp() * 1000
    published_ms = got[0].message.timestamp()[1]
    assert wake_at_ms <= published_ms < wake_at_ms + 5000, (journal.wake_at, published_ms)


async def test_a_signal_sent_before_the_wait_is_kept_and_a_wait_times_out_without_one(
    stack: Endpoints, admin: AdminClient, registry: SchemaRegistryClient
) -> None:
    source, output = topics(admin, "signal", partitions=1)
    name = unique_name("signal")
    log: list[str] = []
    serde = Serde(registry)
    async with running([_waiting_agent(name, source, output, log)]):
        # The signal comes while the run still sleeps, before it reaches its wait.
        await publish(source, [Ping(id="early", key="k", seq=0, payload="sleep=2 wait=30")])
        await until(lambda: any(j.state == "sleeping" for j in journals(serde, name).values()))
        [run_id] = journals(serde, name)
        await durable.signal(name, run_id, "approval", {"by": "ada"})
        # A second run's wait has nobody to answer it: its timeout fires.
        await publish(source, [Ping(id="late", key="k", seq=1, payload="wait=2")])
        got = await read_events(serde, output, Pong, 2, timeout_s=30)
    assert {r.event.id: r.event.handled_by for r in got} == {"early": "ada", "late": "timeout"}
    assert sorted(log) == ["draft early", "draft late", "woke early"]


async def test_cancel_stops_a_sleeping_run(
    stack: Endpoints, admin: AdminClient, registry: SchemaRegistryClient
) -> None:
    source, output = topics(admin, "cancel", partitions=1)
    name = unique_name("cancel")
    log: list[str] = []
    serde = Serde(registry)
    async with running([_waiting_agent(name, source, output, log)]) as worker:
        await publish(source, [Ping(id="c0", key="k", seq=0, payload="sleep=3")])
        await until(lambda: any(j.state == "sleeping" for j in journals(serde, name).values()))
        [run_id] = journals(serde, name)
        await durable.cancel(name, run_id)
        await until(lambda: journals(serde, name)[run_id].state == "cancelled")
        await asyncio.sleep(4)  # past the sleep: nothing wakes it
        outputs = await read_events(serde, output, Pong, 1, timeout_s=1)
        assert worker.runners
    assert outputs == []
    assert log == ["draft c0"]


async def test_the_runs_command_lists_shows_and_signals_a_waiting_run(
    stack: Endpoints, admin: AdminClient, registry: SchemaRegistryClient
) -> None:
    source, output = topics(admin, "runscli", partitions=1)
    name = unique_name("runscli")
    log: list[str] = []
    serde = Serde(registry)
    async with running([_waiting_agent(name, source, output, log)]):
        await publish(source, [Ping(id="w0", key="k", seq=0, payload="wait=120")])
        await until(lambda: any(j.state == "waiting" for j in journals(serde, name).values()))
        [run_id] = journals(serde, name)
        listed = await asyncio.to_thread(hivebus, "runs", "list", "--agent", name)
        shown = await asyncio.to_thread(hivebus, "runs", "show", run_id)
        sent = await asyncio.to_thread(
            hivebus, "runs", "signal", name, run_id, "approval", "--json", '{"by": "cli"}'
        )
        got = await read_events(serde, output, Pong, 1, timeout_s=30)
        bad = await asyncio.to_thread(
            hivebus, "runs", "signal", name, run_id, "approval", "--json", "{nope"
        )
    assert listed.returncode == 0, listed.stderr
    [row] = [line for line in listed.stdout.splitlines() if run_id in line]
    assert "waiting for approval (until " in row and name in row
    assert shown.returncode == 0, shown.stderr
    assert f"run      {run_id}" in shown.stdout and "draft" in shown.stdout
    assert sent.returncode == 0, sent.stderr
    assert [r.event.handled_by for r in got] == ["cli"]
    assert bad.returncode == 1 and "--json is not JSON" in bad.stderr


# ---- many runs, two workers, one killed ----

WAITS = Path(__file__).parent / "agents" / "durable_waits.py"
MANY = int(os.environ.get("DURABLE_MANY", "1000"))


async def test_a_thousand_runs_with_sleeps_and_waits_survive_a_killed_worker_and_none_runs_twice(
    stack: Endpoints, admin: AdminClient, registry: SchemaRegistryClient, tmp_path: Path
) -> None:
    source, output = topics(admin, "many", partitions=6)
    name = unique_name("many")
    log = tmp_path / "steps.log"
    serde = Serde(registry)
    env = {
        **os.environ, "DURABLE_AGENT": name, "DURABLE_SOURCE": source,
        "DURABLE_OUTPUT": output, "DURABLE_STEP_LOG": str(log),
    }  # fmt: skip
    workers = [_worker(env, WAITS, tmp_path / f"worker{i}.log") for i in range(2)]
    try:
        run_ids = await publish(source, pings(MANY, keys=50))
        await until(lambda: log.exists() and len(log.read_text().splitlines()) >= MANY // 3, 120)
        workers[0].kill()  # -9 while runs are starting, sleeping and waiting
        workers[0].wait(10)
        # Half the runs get their signal (sent to whoever holds them now); the rest time out.
        async with Publisher("many-test") as publisher:
            for run_id in run_ids[::2]:
                request = RunRequest(run_id=run_id, kind="signal", signal="go",
                                     payload=b'{"by": "signal"}', requested_at="now")  # fmt: skip
                await publisher.publish(runs_topic(name), request, key=run_id)
        got = await read_events(serde, output, Pong, MANY, timeout_s=240, committed_only=True)
        await asyncio.sleep(3)
        again = await read_events(serde, output, Pong, MANY + 1, timeout_s=5, committed_only=True)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                worker.wait(60)
    ids = Counter(r.event.id for r in again)
    assert len(got) == MANY and len(ids) == MANY, f"{len(ids)} of {MANY} runs completed"
    assert max(ids.values()) == 1, "a run published twice"
    answers = Counter(r.event.handled_by for r in again)
    assert answers["signal"] >= MANY // 2 - 60 and answers["signal"] + answers["timeout"] == MANY
    steps = Counter(tuple(line.split()) for line in log.read_text().splitlines())
    repeated = {step: count for step, count in steps.items() if count > 1}
    # Only a step in flight at the kill can run twice: at most one per run the worker held.
    assert len(repeated) <= 128 and max(repeated.values(), default=1) <= 2, repeated
    assert all(steps[(f"p{i}", "after")] >= 1 for i in range(MANY))
    print(f"{MANY} runs: {sum(steps.values())} step executions, {len(repeated)} repeated")


async def test_a_5_mb_step_result_is_kept_out_of_line_and_replays_intact(
    stack: Endpoints, admin: AdminClient, registry: SchemaRegistryClient
) -> None:
    source, output = topics(admin, "blobs", partitions=1)
    name = unique_name("blobs")
    agent = Agent(name, durable=True, retry=Retry(attempts=2, backoff_s=0.05))
    transcript = "".join(f"line {i}: {'x' * 90}\n" for i in range(50_000))  # ~5 MB, LLM-like
    made: list[int] = []
    replayed: list[str] = []

    def long_transcript() -> str:
        made.append(1)
        return transcript

    @agent.on(source, Ping, output=output)
    async def handle(ping: Ping, ctx: Context) -> Pong:
        text = await ctx.step("transcribe", long_transcript)
        if ctx.attempt == 1:
            raise RuntimeError("fail once, so the second attempt replays the 5 MB result")
        replayed.append(text)
        digest = hashlib.sha256(text.encode()).hexdigest()
        return Pong(id=ping.id, key=ping.key, seq=len(text), handled_by=digest)

    serde = Serde(registry)
    async with running([agent]):
        await publish(source, pings(1))
        got = await read_events(serde, output, Pong, 1, timeout_s=60)
    assert len(transcript.encode()) > 5_000_000
    assert made == [1]  # made once; the retry read it back
    assert replayed == [transcript]
    assert got[0].event.handled_by == hashlib.sha256(transcript.encode()).hexdigest()
    [journal] = journals(serde, name).values()
    [step] = journal.steps
    assert step.codec == "ref:json" and step.value is not None and len(step.value) < 2000


async def test_finished_runs_are_forgotten_after_their_retention_journal_and_blobs(
    stack: Endpoints,
    admin: AdminClient,
    registry: SchemaRegistryClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HIVEBUS_DURABLE_RETENTION_S", "0")
    source, output = topics(admin, "retention", partitions=1)
    name = unique_name("retention")
    agent = Agent(name, durable=True)

    @agent.on(source, Ping, output=output)
    async def handle(ping: Ping, ctx: Context) -> Pong:
        await ctx.step("big", lambda: "y" * 100_000)  # out of line: a blob
        return Pong(id=ping.id, key=ping.key, seq=ping.seq)

    serde = Serde(registry)
    async with running([agent]):
        await publish(source, pings(2))
        await read_events(serde, output, Pong, 2, timeout_s=30)
        await until(lambda: journals(serde, name) == {}, 30)  # the sweep ran (every 5 s)
    latest = _newest_per_key(blobs_topic(name))
    assert latest and all(value is None for value in latest.values()), latest


def _newest_per_key(topic: str) -> dict[bytes, bytes | None]:
    consumer = Consumer({
        "bootstrap.servers": bootstrap_servers(), "group.id": unique_name("blobs-reader"),
        "auto.offset.reset": "earliest", "enable.partition.eof": True,
    })  # fmt: skip
    consumer.subscribe([topic])
    newest: dict[bytes, bytes | None] = {}
    partitions = len(consumer.list_topics(topic, timeout=10).topics[topic].partitions)
    ended: set[int] = set()
    try:
        while len(ended) < partitions:
            message = consumer.poll(10)
            assert message is not None, f"{topic} did not reach its end"
            if message.error() is not None:
                ended.add(message.partition() or 0)
                continue
            newest[message.key() or b""] = message.value()
    finally:
        consumer.close()
    return newest
