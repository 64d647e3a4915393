"""Workload (f): the HTTP gateway — submit to first status event, and many streams held.

Everything runs as the gateway runs in production: `hivebus gateway` is a subprocess, and so
are the durable agents (`python -m bench.gateway agents '<config>'`). The bench's own process
is the client (httpx for the POSTs, a raw asyncio SSE client for the streams, bench/
gateway_probe.py) and, for the baselines, a plain consumer of the agents' journal and output
topics, which stamps when each journal version and output becomes visible.

1. Submit to first status event. Tasks go to a durable agent of one trivial step at a fixed
   rate; for each, the time from the start of the POST to its 202, to the stream's first event
   (`submitted`), to its first step event, and to `completed`. Baseline, in the same window
   and against the same agent (one baseline run between every two tasks): the same input
   published with hivebus's `Publisher`, and the time to the ack, to the first journal
   version with a step, and to the run's output and its completed journal version.
2. Streams held: S tasks (1,000) of a durable agent that journals a step and then waits for
   a signal (a run waiting for a human: the case of a stream held for hours), each followed
   by its own stream, all on one gateway process. Reported: streams that got their first
   event and stayed open through the hold; the gateway's RSS and CPU (from /proc) idle,
   holding, and while every run is signalled at once and each stream gets its last events;
   the delivery lag (stream event less the same journal version seen by a plain consumer;
   for the terminal event, less the ended version).
   Then S streams on one waiting run, signalled once over the gateway: the time to deliver
   that one event to all of them, and then its terminal event.

Both phases start once the gateway follows the agent's journal for longer than its margin
for clocks (10 s): before that, each stream reads its run's partition once (docs/gateway.md),
a start-up cost, not the steady state this measures.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from confluent_kafka import Consumer, TopicPartition

from bench.contracts import Job, JobResult
from bench.gateway_probe import CpuWindow, Stream, follow, rss_mib, summary_ms
from hivebus import Agent, DurableContext, Publisher
from hivebus.contracts import Serde, lineage, register, registry_client
from hivebus.durable import RunJournal
from hivebus.durable.records import RunRequest
from hivebus.durable.run import stamp
from hivebus.durable.topics import journal_topic, runs_topic
from hivebus.kafka.admin import TopicSpec, admin_client, ensure_topics
from hivebus.kafka.connection import connection_settings
from hivebus.kafka.records import next_batch

GO = "go"  # the signal the waiting agent waits for
SIGNAL = "signal"  # the RunRequest kind `hivebus.durable.control.signal` sends
FOLLOW_MARGIN_S = 11.0  # the gateway's FOLLOW_MARGIN_MS (10 s), and a second
ENDS = ("completed", "failed", "cancelled")  # a journal's terminal states
TASK_TIMEOUT_S = 120.0
SUBMITTING = 32  # POSTs in flight while the streams' tasks are submitted
KEYS_VARIABLE = "HIVEBUS_GATEWAY_KEYS"  # left out: the bench measures the open gateway
OPEN_WARNING = "the gateway is OPEN"  # no API keys: expected of a bench on localhost


@dataclass(frozen=True)
class Names:
    tag: str

    @property
    def quick(self) -> str:
        return f"bench-gw-quick-{self.tag}"

    @property
    def waiter(self) -> str:
        return f"bench-gw-wait-{self.tag}"

    def source(self, agent: str) -> str:
        return f"bench.gateway.{agent}"

    def output(self, agent: str) -> str:
        return f"bench.gateway-out.{agent}"


def run(quick: bool = False, say: Any = print) -> dict[str, Any]:
    tasks, rate, streams, hold = (50, 10.0, 300, 10.0) if quick else (200, 10.0, 1000, 30.0)
    files = raise_open_files(2 * streams + 512)
    names = Names(uuid.uuid4().hex[:8])
    say(f"(f) gateway: {tasks} tasks at {rate:g}/s, submit to first event (+ baseline); "
        f"{streams} streams held {hold:g} s (open files: {files['soft']})")  # fmt: skip
    specs = [TopicSpec(t, 3) for a in (names.quick, names.waiter)
             for t in (names.source(a), names.output(a))]  # fmt: skip
    ensure_topics(admin_client(), specs)
    registry = registry_client()
    for agent in (names.quick, names.waiter):  # what `hivebus topology apply` would do
        register(registry, Job.contract(), names.source(agent))
    logs = Path(tempfile.mkdtemp(prefix="bench-gateway-"))
    load = [os.getloadavg()[0]]
    try:
        with _agents(names, logs):
            with _gateway(logs) as gw:
                first = asyncio.run(_first_events(gw, names, tasks, rate, say))
                first["gateway_log"] = gw.problems()
            load.append(os.getloadavg()[0])
            with _gateway(logs) as gw:
                held = asyncio.run(_streams(gw, names, streams, hold, say))
                held["gateway_log"] = gw.problems()
            load.append(os.getloadavg()[0])
    finally:
        _delete_tagged(names.tag)
    return {"workload": "gateway", "tasks": tasks, "rate_per_s": rate, "streams": streams,
            "hold_s": hold, "open_files": files, "load_1m": load, "first_event": first,
            "held": held, "logs": str(logs)}  # fmt: skip


def raise_open_files(needed: int) -> dict[str, int]:
    """Lift this process's soft limit of open files (the gateway, started from here,
    inherits it) towards `needed`, as far as the hard limit allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = (
        soft if soft >= needed else needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    )
    if wanted != soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return {"soft_before": soft, "soft": wanted, "hard": hard, "needed": needed}


# --- phase 1: submit to first status event -------------------------------------------------


async def _first_events(
    gw: GatewayProcess, names: Names, count: int, rate: float, say: Any
) -> dict[str, Any]:
    agent, source = names.quick, names.source(names.quick)
    watcher = Watcher([journal_topic(agent), names.output(agent)])
    watcher.start()
    try:
        async with _client() as client, Publisher("bench-gateway") as publisher:
            cold = await _via_gateway(client, gw, agent, _job("cold"), retry_s=60.0)
            await _directly(publisher, watcher, source, _job("warm"))
            await asyncio.sleep(FOLLOW_MARGIN_S)
            begun, launched = time.perf_counter(), []
            for i in range(2 * count):  # gateway and baseline in turn, each at `rate`
                await asyncio.sleep(max(0.0, begun + i / (2 * rate) - time.perf_counter()))
                job = _job(f"t{i}")
                launched.append(
                    asyncio.create_task(
                        _via_gateway(client, gw, agent, job)
                        if i % 2 == 0
                        else _directly(publisher, watcher, source, job)
                    )
                )
            outcomes = await asyncio.gather(*launched)
    finally:
        watcher.stop()
    gateway, direct = outcomes[0::2], outcomes[1::2]
    figures = {"gateway": _figures(gateway), "baseline": _figures(direct), "cold": cold}
    g, b = figures["gateway"], figures["baseline"]
    say(f"    (f) POST->202 p50 {_f(g, 'accepted', 'p50_ms')} ms (publish ack "
        f"{_f(b, 'accepted', 'p50_ms')}), first event {_f(g, 'first_event', 'p50_ms')}, "
        f"first step {_f(g, 'first_step', 'p50_ms')} ({_f(b, 'first_step', 'p50_ms')}), "
        f"completed {_f(g, 'completed', 'p50_ms')} ({_f(b, 'completed', 'p50_ms')}) ms"
    )  # fmt: skip
    return figures


async def _via_gateway(
    client: httpx.AsyncClient, gw: GatewayProcess, agent: str, job: Job, retry_s: float = 0.0
) -> dict[str, Any]:
    """One task: POST, then its stream to the end; each time from the start of the POST."""
    deadline = time.monotonic() + retry_s
    while True:
        started = time.perf_counter()
        answer = await client.post(
            f"{gw.url}/v1/tasks", json={"agent": agent, "input": job.model_dump()}
        )
        accepted = time.perf_counter()
        if answer.status_code == 202 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)  # the agent has not announced itself yet
    if answer.status_code != 202:
        return {"error": f"{answer.status_code} {answer.text[:200]}"}
    stream = Stream(f"/v1/tasks/{answer.json()['id']}/events")
    try:
        await asyncio.wait_for(follow(gw.host, gw.port, stream), TASK_TIMEOUT_S)
    except TimeoutError:
        stream.error = "timed out"
    marks = {
        "first_event": stream.first(),
        "first_step": stream.first(kind="step"),
        "completed": stream.first(kind="completed"),
    }
    if stream.error or None in marks.values():
        kinds = [e.event for _, e in stream.events]
        return {"error": f"stream: {stream.error or 'ended early'}, events {kinds}"}
    times = {name: at - started for name, at in marks.items() if at is not None}
    return {"accepted": accepted - started, **times}


async def _directly(
    publisher: Publisher, watcher: Watcher, source: str, job: Job
) -> dict[str, Any]:
    """The baseline: the same input published, its run's journal and output seen."""
    started = time.perf_counter()
    run_id = await publisher.publish(source, job, key=job.key)
    acked = time.perf_counter()

    def done() -> bool:
        return (
            watcher.output(run_id) is not None and watcher.version(run_id, ended=True) is not None
        )

    if not await until(done, TASK_TIMEOUT_S):
        return {"error": f"run {run_id}: no output or end within {TASK_TIMEOUT_S:.0f} s"}
    step, output = watcher.version(run_id, steps=1), watcher.output(run_id)
    ended = watcher.version(run_id, ended=True)
    assert step is not None and output is not None and ended is not None
    return {"accepted": acked - started, "first_step": step - started,
            "completed": max(output, ended) - started}  # fmt: skip


def _figures(outcomes: list[dict[str, Any]]) -> dict[str, Any]:
    """p50/p99/max of each mark over the tasks that made it; the errors of the others."""
    good = [o for o in outcomes if "error" not in o]
    marks = [
        k for k in ("accepted", "first_event", "first_step", "completed") if good and k in good[0]
    ]
    figures: dict[str, Any] = {m: summary_ms([o[m] for o in good]) for m in marks}
    figures["done"], figures["total"] = len(good), len(outcomes)
    errors = [o["error"] for o in outcomes if "error" in o]
    if errors:
        figures["errors"] = errors[:5]
    return figures


# --- phase 2: many streams held --------------------------------------------------------------


async def _streams(
    gw: GatewayProcess, names: Names, count: int, hold_s: float, say: Any
) -> dict[str, Any]:
    agent = names.waiter
    watcher = Watcher([journal_topic(agent)])
    watcher.start()
    result: dict[str, Any] = {}
    rss: dict[str, float] = {}
    cpu: dict[str, float] = {}
    result["rss_mib"], result["cpu_percent"] = rss, cpu
    try:
        async with _client() as client, Publisher("bench-gateway") as publisher:
            warm = await _submit(client, gw, agent, _job("warm"), retry_s=60.0)
            await _wait_until_waiting(gw, warm)
            await asyncio.sleep(FOLLOW_MARGIN_S)
            rss["idle"], cpu["idle"] = rss_mib(gw.pid), await _cpu_over(gw.pid, 5.0)

            begun, window = time.perf_counter(), CpuWindow(gw.pid)
            submitted = await _submit_all(client, gw, agent, count)
            cpu["submitting"] = window.percent()
            ids = [task_id for task_id, _ in submitted]
            result["submit"] = {"tasks_per_s": count / (time.perf_counter() - begun),
                                "accepted": summary_ms([s for _, s in submitted])}  # fmt: skip
            rss["submitted"] = rss_mib(gw.pid)
            say(f"    (f) {count} tasks submitted, {result['submit']['tasks_per_s']:.0f}/s")

            streams = [Stream(f"/v1/tasks/{task_id}/events") for task_id in ids]
            result["distinct"] = await _hold_and_signal(
                gw, watcher, publisher, agent, ids, streams, hold_s, rss, cpu, say
            )
            result["shared"] = await _one_run_many_streams(
                gw, client, watcher, agent, count, rss, cpu, say
            )
            rss["after"] = rss_mib(gw.pid)
    finally:
        watcher.stop()
    return result


async def _hold_and_signal(
    gw: GatewayProcess,
    watcher: Watcher,
    publisher: Publisher,
    agent: str,
    ids: list[str],
    streams: list[Stream],
    hold_s: float,
    rss: dict[str, float],
    cpu: dict[str, float],
    say: Any,
) -> dict[str, Any]:
    """Every task's own stream: opened at once, held, then every run signalled at once."""
    figures: dict[str, Any] = {"streams": len(streams)}
    opened, window = time.perf_counter(), CpuWindow(gw.pid)
    followers = [asyncio.create_task(follow(gw.host, gw.port, s)) for s in streams]
    try:
        ready = await until(lambda: all(s.seen("waiting") or _broken(s) for s in streams), 120)
        figures["all_waiting_s"] = time.perf_counter() - opened
        cpu["opening"] = window.percent()
        figures["first_event"] = summary_ms(_since_open(streams))
        figures["got_first_event"] = sum(1 for s in streams if s.first() is not None)
        figures["got_waiting"] = sum(1 for s in streams if s.seen("waiting"))
        figures["broken_at_open"] = _problems(streams)
        say(f"    (f) {len(streams)} streams: {figures['got_waiting']} waiting after "
            f"{figures['all_waiting_s']:.1f} s (ready: {ready})")  # fmt: skip
        await asyncio.sleep(2.0)
        rss["open"] = rss_mib(gw.pid)
        client = CpuWindow(os.getpid())
        cpu["holding"] = await _cpu_over(gw.pid, hold_s)
        cpu["client_holding"] = client.percent()
        rss["held"] = rss_mib(gw.pid)
        figures["held"] = sum(1 for s in streams if s.ended_at is None and s.error is None)
        figures["keepalives_min"] = min((s.comments for s in streams), default=0)
        say(f"    (f) held {figures['held']}/{len(streams)} for {hold_s:g} s: gateway CPU "
            f"{cpu['holding']:.1f} %, RSS {rss['idle']:.0f} -> {rss['held']:.0f} MiB")  # fmt: skip

        window, client = CpuWindow(gw.pid), CpuWindow(os.getpid())
        signalled = time.perf_counter()
        requests = [RunRequest(run_id=i, kind=SIGNAL, signal=GO, payload=b'{"by": "bench"}',
                               requested_at=stamp()) for i in ids]  # fmt: skip
        await publisher.publish_many(runs_topic(agent), [(r.run_id, r) for r in requests])
        figures["signals_sent_s"] = time.perf_counter() - signalled
        await until(lambda: all(s.ended_at is not None or _broken(s) for s in streams), 180)
        figures["flow_s"] = time.perf_counter() - signalled
        cpu["events_flowing"], cpu["client_events_flowing"] = window.percent(), client.percent()
        rss["flowed"] = rss_mib(gw.pid)
        figures["next_event"] = summary_ms(_after(streams, signalled, None))
        figures["terminal_event"] = summary_ms(_after(streams, signalled, "completed"))
        figures["completed"] = sum(1 for s in streams if s.seen("completed"))
        figures["lag_next"] = summary_ms(_lags(streams, ids, watcher, signalled))
        figures["lag_terminal"] = summary_ms(_lags(streams, ids, watcher, signalled, ended=True))
        figures["broken"] = _problems(streams)
        say(f"    (f) signalled all: next event p50 {figures['next_event']['p50_ms']:.0f} ms, "
            f"all {figures['next_event']['max_ms']:.0f} ms; completed {figures['completed']} "
            f"in {figures['flow_s']:.1f} s, gateway CPU {cpu['events_flowing']:.0f} %")  # fmt: skip
    finally:
        for task in followers:
            task.cancel()
        await asyncio.gather(*followers, return_exceptions=True)
    return figures


async def _one_run_many_streams(
    gw: GatewayProcess,
    client: httpx.AsyncClient,
    watcher: Watcher,
    agent: str,
    count: int,
    rss: dict[str, float],
    cpu: dict[str, float],
    say: Any,
) -> dict[str, Any]:
    """`count` streams of one waiting run, then one signal over the gateway: one event to
    every stream at once (a dashboard many people watch)."""
    task_id = await _submit(client, gw, agent, _job("shared"))
    await _wait_until_waiting(gw, task_id)
    streams = [Stream(f"/v1/tasks/{task_id}/events") for _ in range(count)]
    figures: dict[str, Any] = {"streams": count}
    followers = [asyncio.create_task(follow(gw.host, gw.port, s)) for s in streams]
    try:
        await until(lambda: all(s.seen("waiting") or _broken(s) for s in streams), 120)
        figures["got_waiting"] = sum(1 for s in streams if s.seen("waiting"))
        figures["first_event"] = summary_ms(_since_open(streams))
        await asyncio.sleep(2.0)
        rss["shared_open"] = rss_mib(gw.pid)
        window = CpuWindow(gw.pid)
        signalled = time.perf_counter()
        answer = await client.post(f"{gw.url}/v1/tasks/{task_id}/signals/{GO}", json={"by": "b"})
        figures["signal_post_ms"] = 1000 * (time.perf_counter() - signalled)
        figures["signal_status"] = answer.status_code
        await until(lambda: all(s.ended_at is not None or _broken(s) for s in streams), 180)
        figures["flow_s"] = time.perf_counter() - signalled
        cpu["shared_flowing"] = window.percent()
        journal = watcher.version(task_id, steps=2, after=signalled)
        figures["journal_seen_ms"] = 1000 * (journal - signalled) if journal else None
        figures["next_event"] = summary_ms(_after(streams, signalled, None))
        figures["terminal_event"] = summary_ms(_after(streams, signalled, "completed"))
        figures["completed"] = sum(1 for s in streams if s.seen("completed"))
        if journal is not None:
            lags = [t - journal for s in streams if (t := s.first(after=signalled)) is not None]
            figures["lag_next"] = summary_ms(lags)
        figures["lag_terminal"] = summary_ms(_lags(streams, [task_id] * count, watcher, signalled,
                                                   ended=True))  # fmt: skip
        figures["broken"] = _problems(streams)
        say(f"    (f) one run, {count} streams: signal to every stream p50 "
            f"{figures['next_event']['p50_ms']:.0f} ms, all {figures['next_event']['max_ms']:.0f}"
            f" ms; terminal event to all {figures['terminal_event']['max_ms']:.0f} ms")  # fmt: skip
    finally:
        for task in followers:
            task.cancel()
        await asyncio.gather(*followers, return_exceptions=True)
    return figures


async def _submit(
    client: httpx.AsyncClient, gw: GatewayProcess, agent: str, job: Job, retry_s: float = 0.0
) -> str:
    deadline = time.monotonic() + retry_s
    while True:
        answer = await client.post(
            f"{gw.url}/v1/tasks", json={"agent": agent, "input": job.model_dump()}
        )
        if answer.status_code == 202:
            return str(answer.json()["id"])
        if time.monotonic() > deadline:
            raise RuntimeError(f"the gateway refused a task: {answer.status_code} {answer.text}")
        await asyncio.sleep(0.5)


async def _submit_all(
    client: httpx.AsyncClient, gw: GatewayProcess, agent: str, count: int
) -> list[tuple[str, float]]:
    """`count` tasks, SUBMITTING at a time: (task id, POST to 202 in seconds) each."""
    gate = asyncio.Semaphore(SUBMITTING)

    async def one(i: int) -> tuple[str, float]:
        async with gate:
            started = time.perf_counter()
            task_id = await _submit(client, gw, agent, _job(f"w{i}"))
            return task_id, time.perf_counter() - started

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def _wait_until_waiting(gw: GatewayProcess, task_id: str) -> None:
    stream = Stream(f"/v1/tasks/{task_id}/events")
    reading = asyncio.create_task(follow(gw.host, gw.port, stream))
    try:
        if not await until(lambda: stream.seen("waiting") or _broken(stream), TASK_TIMEOUT_S):
            raise RuntimeError(f"task {task_id} never waited: {[e for _, e in stream.events]}")
    finally:
        reading.cancel()
        await asyncio.gather(reading, return_exceptions=True)


def _broken(stream: Stream) -> bool:
    """Ended without its terminal event, or failed."""
    return stream.error is not None or (
        stream.ended_at is not None and not stream.seen("completed")
    )


def _problems(streams: list[Stream]) -> dict[str, Any]:
    broken = [s for s in streams if _broken(s)]
    statuses = sorted({s.status for s in broken})
    return {"count": len(broken), "statuses": statuses,
            "errors": sorted({s.error for s in broken if s.error})[:3]}  # fmt: skip


def _since_open(streams: list[Stream]) -> list[float]:
    return [t - s.opened_at for s in streams if (t := s.first()) is not None]


def _after(streams: list[Stream], since: float, kind: str | None) -> list[float]:
    return [t - since for s in streams if (t := s.first(after=since, kind=kind)) is not None]


def _lags(
    streams: list[Stream], ids: list[str], watcher: Watcher, since: float, *, ended: bool = False
) -> list[float]:
    """Stream event less the same journal version seen by a plain consumer: the gateway's part.
    The next event after `since`, or (`ended`) the terminal one, less the ended version."""
    lags = []
    for stream, run_id in zip(streams, ids, strict=True):
        if ended:
            got = stream.first(after=since, kind="completed")
            seen = watcher.version(run_id, ended=True, after=since)
        else:
            got, seen = stream.first(after=since), watcher.version(run_id, steps=2, after=since)
        if got is not None and seen is not None:
            lags.append(got - seen)
    return lags


async def _cpu_over(pid: int, seconds: float) -> float:
    window = CpuWindow(pid)
    await asyncio.sleep(seconds)
    return window.percent()


async def until(done: Callable[[], bool], timeout_s: float, every_s: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(every_s)
    return True


def _client() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=2 * SUBMITTING))


def _job(name: str) -> Job:
    return Job(id=name, key=name, seq=0, delay_ms=0, sent_at_us=0)


def _f(figures: dict[str, Any], mark: str, q: str) -> str:
    return f"{figures[mark][q]:.1f}" if mark in figures else "—"


# --- the baselines' reader: a plain consumer of the journal and output topics ---------------


@dataclass
class Watcher:
    """Follows topics from their end in a thread and stamps (perf_counter) each journal
    version (steps so far, whether ended) and each output (by `ce_runid`) on arrival."""

    topics: list[str]
    _versions: dict[str, list[tuple[float, int, bool]]] = field(default_factory=dict)
    _outputs: dict[str, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _ready: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="bench-watcher", daemon=True)
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError(f"could not follow {self.topics}")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def version(
        self, run_id: str, *, steps: int = 0, ended: bool = False, after: float = 0.0
    ) -> float | None:
        """When the first version of the run's journal with `steps` steps (or ended) came."""
        for at, count, over in list(self._versions.get(run_id, ())):
            if at >= after and count >= steps and (over or not ended):
                return at
        return None

    def output(self, run_id: str) -> float | None:
        return self._outputs.get(run_id)

    def _run(self) -> None:
        serde = Serde(registry_client())
        consumer = Consumer({**connection_settings("consumer"), "enable.auto.commit": False,
                             "group.id": f"bench-watcher-{uuid.uuid4().hex[:8]}",
                             "isolation.level": "read_committed",
                             "fetch.wait.max.ms": 10})  # fmt: skip
        try:
            assigned = []
            for topic in self.topics:
                partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
                for p in partitions:
                    _, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                    assigned.append(TopicPartition(topic, p, high))
            consumer.assign(assigned)
            self._ready.set()
            while not self._stop.is_set():
                for message in next_batch(consumer, 500, 0.05):  # a lone record at once
                    now = time.perf_counter()
                    value = message.value()
                    if message.error() is not None or value is None:
                        continue
                    if message.topic().startswith("hivebus.journal."):
                        journal = serde.decode(value, RunJournal)
                        self._versions.setdefault(journal.run_id, []).append(
                            (now, len(journal.steps), journal.state in ENDS)
                        )
                    elif (run_id := lineage(message.headers())[2]) is not None:
                        self._outputs.setdefault(run_id, now)
        finally:
            consumer.close()


# --- the processes: the gateway, and the agents ---------------------------------------------


@dataclass
class GatewayProcess:
    host: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def problems(self) -> list[str]:
        """The gateway's warnings and errors (the first few), which a clean run has none of."""
        lines = self.log.read_text(errors="replace").splitlines()
        found = [
            line
            for line in lines
            if (" WARNING " in line or " ERROR " in line) and OPEN_WARNING not in line
        ]
        return [line[:300] for line in found[:8]] + ([f"... {len(found)} in all"] if found else [])


@contextlib.contextmanager
def _gateway(logs: Path) -> Iterator[GatewayProcess]:
    """`hivebus gateway` on a free port, as it is deployed (default keep-alive of 15 s)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = logs / f"gateway-{port}.log"
    command = [sys.executable, "-m", "hivebus.cli", "gateway", "--port", str(port)]
    env = {k: v for k, v in os.environ.items() if k != KEYS_VARIABLE}  # open, on localhost
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    gw = GatewayProcess("127.0.0.1", port, process, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the gateway exited: {log.read_text()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{gw.url}/healthz", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise TimeoutError(f"the gateway did not start: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield gw
    finally:
        _end(process)


@contextlib.contextmanager
def _agents(names: Names, logs: Path) -> Iterator[subprocess.Popen[str]]:
    """Both durable agents in one worker subprocess, until the block ends."""
    config = json.dumps({"tag": names.tag})
    command = [sys.executable, "-m", "bench.gateway", "agents", config]
    with (logs / "agents.log").open("w") as err:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err, text=True)
    try:
        assert process.stdout is not None
        if process.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the agents did not start: {(logs / 'agents.log').read_text()}")
        yield process
    finally:
        _end(process)


def _end(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _delete_tagged(tag: str) -> None:
    """This run's topics: sources, outputs, and the agents' run inboxes, journals, blobs."""
    admin = admin_client()
    doomed = [t for t in admin.list_topics(timeout=10).topics if tag in t]
    for future in admin.delete_topics(doomed, operation_timeout=30).values() if doomed else []:
        with contextlib.suppress(Exception):  # gone already, or a slow broker: not a result
            future.result()


def agents(names: Names) -> list[Agent]:
    """`quick`: one trivial step, then its result. `waiter`: one step, then a wait for the
    signal `go` (a run that waits for a human), then its result."""
    quick = Agent(names.quick, durable=True, max_in_flight=256)
    waiter = Agent(names.waiter, durable=True, max_in_flight=256)

    @quick.on(names.source(names.quick), Job, output=names.output(names.quick))
    async def echo(job: Job, ctx: DurableContext) -> JobResult:
        await ctx.step("echo", _echo, job.id)
        return _result(job)

    @waiter.on(names.source(names.waiter), Job, output=names.output(names.waiter))
    async def approve(job: Job, ctx: DurableContext) -> JobResult:
        await ctx.step("ready", _echo, job.id)
        await ctx.wait_for(GO, timeout_s=3600)
        return _result(job)

    return [quick, waiter]


def _echo(value: str) -> str:
    return value


def _result(job: Job) -> JobResult:
    return JobResult(id=job.id, key=job.key, seq=job.seq, sent_at_us=job.sent_at_us,
                     started_at_us=0, system="hivebus")  # fmt: skip


async def _serve_agents(config: dict[str, Any]) -> None:
    from hivebus.testing.worker import running

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    async with running(agents(Names(config["tag"]))):
        print("ready", flush=True)
        await stop.wait()


if __name__ == "__main__":
    if sys.argv[1:2] == ["agents"]:
        asyncio.run(_serve_agents(json.loads(sys.argv[2])))
    else:
        print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
