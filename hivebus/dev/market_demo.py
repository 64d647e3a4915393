"""`hivebus dev demo market`: LLM agents bid for tasks; the coordinator is killed mid-auction.

The market of `agents/task_market.py` runs in its own worker process (`hivebus run`). This
process posts two dozen opportunities, prints each award as it is committed, kills the worker
with SIGKILL once a third of them are awarded, starts a new one, and checks the end: exactly
one award per opportunity, none lost and none twice, read as `read_committed`.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer

from hivebus.contracts import Serde, registry_client
from hivebus.dev.demo import wait_for_agents
from hivebus.dev.demo_worker import committed_reader, start_worker, stop_worker, worker_log
from hivebus.kafka.admin import admin_client, ensure_topics
from hivebus.patterns import Award, Market, Opportunity
from hivebus.runtime import Publisher
from hivebus.runtime.loader import import_file

Say = Callable[[str], None]
WORKER_OPTIONS = ["--heartbeat", "2", "--grace", "2", "--consumer-config",
                  "session.timeout.ms=6000", "--consumer-config",
                  "heartbeat.interval.ms=1000"]  # fmt: skip
TASKS = [
    ("translate the onboarding guide into German", 120.0),
    ("analyse last quarter's churn by region", 200.0),
    ("localise the pricing page for Japan", 30.0),
    ("write release notes from 40 commits", 60.0),
    ("summarise 12 customer interviews", 90.0),
    ("build a dashboard of weekly signups", 150.0),
]


def run(agents_dir: Path, count: int = 24, say: Say = print) -> dict[str, Award]:
    """Run the demo; returns the award of each opportunity."""
    module = import_file((agents_dir / "task_market.py").resolve())
    market: Market = module.market
    ensure_topics(admin_client(), market.topic_specs())
    serde = Serde(registry_client())
    log = worker_log("market")
    bidders = [a.name for a in vars(module).values() if getattr(a, "handlers", None)
               and a is not market.coordinator]  # fmt: skip
    worker = start_worker(agents_dir, "task_market.py", log, say, options=WORKER_OPTIONS)
    awards: dict[str, Award] = {}
    twice: Counter[str] = Counter()
    watcher = committed_reader([market.topics.awards])
    try:
        wait_for_agents(serde, worker, say, (market.coordinator.name, *bidders))
        stamp = time.strftime("%H%M%S")
        ids = [f"task-{stamp}-{n:02d}" for n in range(count)]
        say(f"\n== posting {count} opportunities to {market.topics.posted}; bidders "
            f"{', '.join(bidders)} ==")  # fmt: skip
        asyncio.run(_post(market, ids))
        _follow(watcher, serde, set(ids), awards, twice, say, until=count // 3)
        say(f"\n== {len(awards)} awarded: kill -9 the worker, auctions in flight ==")
        worker.kill()
        worker.wait(10)
        say("== start a new worker: the auctions go on from their journals (the broker "
            "notices the dead one within its 6 s session) ==")  # fmt: skip
        worker = start_worker(agents_dir, "task_market.py", log, say, options=WORKER_OPTIONS)
        _follow(watcher, serde, set(ids), awards, twice, say, until=count)
        _follow(watcher, serde, set(ids), awards, twice, say, until=count, settle_s=3)
        _summary(awards, twice, count, say)
        return awards
    finally:
        watcher.close()
        stop_worker(worker, log, say)


async def _post(market: Market, ids: list[str]) -> None:
    async with Publisher("demo") as publisher:
        for n, opportunity_id in enumerate(ids):
            task, budget = TASKS[n % len(TASKS)]
            opportunity = Opportunity(id=opportunity_id, task=task, budget=budget,
                                      posted_by="demo")  # fmt: skip
            await publisher.publish(market.topics.posted, opportunity, key=opportunity_id)
            await asyncio.sleep(0.15)


def _follow(
    consumer: Consumer, serde: Serde, ids: set[str], awards: dict[str, Award],
    twice: Counter[str], say: Say, *, until: int, settle_s: float = 0.0,
) -> None:  # fmt: skip
    """Print the committed awards of `ids` as they come, until `until` are in (then for
    `settle_s` more, to see that nothing comes twice)."""
    deadline, settled = time.monotonic() + 180, None
    while time.monotonic() < deadline:
        if len(awards) >= until:
            settled = settled or time.monotonic() + settle_s
            if time.monotonic() >= settled:
                return
        message = consumer.poll(0.2)
        if message is None or message.error() is not None:
            continue
        award = serde.decode(message.value() or b"", Award)
        if award.opportunity_id not in ids:
            continue
        if award.opportunity_id in awards:
            twice[award.opportunity_id] += 1
        awards[award.opportunity_id] = award
        say(_line(award))
    raise TimeoutError(f"only {len(awards)} of the awards came within 180 s")


def _line(award: Award) -> str:
    passed = f"; passed over {', '.join(award.passed_over)}" if award.passed_over else ""
    if award.outcome != "awarded":
        return f"   {award.opportunity_id}  unawarded ({award.reason}){passed}"
    return (f"   {award.opportunity_id}  -> {award.winner:<15} at {award.cost:>7.2f} "
            f"(confidence {award.confidence:.2f}; {award.bids} bids, closed by "
            f"{award.closed_by}){passed}")  # fmt: skip


def _summary(awards: dict[str, Any], twice: Counter[str], count: int, say: Say) -> None:
    winners = Counter(a.winner or "(unawarded)" for a in awards.values())
    say(f"\n== {len(awards)} of {count} opportunities have an award; "
        f"{sum(twice.values())} came twice ==")  # fmt: skip
    say("   winners: " + ", ".join(f"{name} {n}" for name, n in winners.most_common()))
    passed = sum(len(a.passed_over) for a in awards.values())
    say(f"   offers declined or unanswered, then given to the next bid: {passed}")
    if len(awards) != count or twice:
        raise RuntimeError("the market lost or repeated an award")
