"""The market pattern on the real broker and registry: bidding closed by the most bids, a
reserve or the durable deadline; a winner that declines or stays silent replaced by the next
bid; exactly one award per opportunity with the coordinator killed -9 mid-auction."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from confluent_kafka.schema_registry import SchemaRegistryClient

from hivebus import Context, Publisher
from hivebus.contracts import Serde
from hivebus.dev import Endpoints
from hivebus.patterns import Award, AwardOffer, Bid, Market, Opportunity
from hivebus.runtime import Agent
from hivebus.testing.reader import read_events
from hivebus.testing.stack import unique_name
from hivebus.testing.worker import running

COORDINATOR = Path(__file__).parent / "agents" / "market_coordinator.py"
SESSION = ["--consumer-config", "session.timeout.ms=6000", "--consumer-config",
           "heartbeat.interval.ms=1000"]  # fmt: skip


def _pricing(prices: dict[str, float]):  # type: ignore[no-untyped-def]
    """A bid function asking `prices[opportunity id]`; no bid when the id is not there.
    Bids over 30 on `o-cheap` take 2 s, so the cheap one comes first."""

    async def bid(opportunity: Opportunity, ctx: Context) -> Bid | None:
        if opportunity.id not in prices:
            return None
        if opportunity.id == "o-cheap" and prices[opportunity.id] > 30:
            await asyncio.sleep(2)
        return Bid(opportunity_id="", cost=prices[opportunity.id], confidence=0.8)

    return bid


def _bidders(market: Market, asks: dict[str, dict[str, float]], **accepts: object) -> list[Agent]:
    return [
        market.bidder(name, _pricing(prices), accept=accepts.get(name))  # type: ignore[arg-type]
        for name, prices in asks.items()
    ]


async def _post(market: Market, opportunities: list[Opportunity]) -> None:
    async with Publisher("tests") as publisher:
        for opportunity in opportunities:
            await publisher.publish(market.topics.posted, opportunity, key=opportunity.id)


async def test_bidding_closes_on_the_most_bids_the_reserve_or_the_deadline(
    stack: Endpoints, registry: SchemaRegistryClient
) -> None:
    market = Market(unique_name("mkt"), bidding_s=4, bids_at_most=3, accept_within_s=5,
                    partitions=2)  # fmt: skip
    # o-full: all three bid (closes on the 3rd); o-cheap: a bid under the reserve closes it;
    # o-few: only two bid, so the 4 s timer closes it; o-dear: every bid is over budget.
    names = [unique_name(f"b{n}") for n in range(3)]
    asks = {
        names[0]: {"o-full": 30.0, "o-cheap": 5.0, "o-few": 12.0, "o-dear": 500.0},
        names[1]: {"o-full": 20.0, "o-cheap": 40.0, "o-few": 11.0, "o-dear": 400.0},
        names[2]: {"o-full": 25.0, "o-cheap": 50.0, "o-dear": 300.0},
    }
    opportunities = [
        Opportunity(id=o, task="translate a page", budget=100.0, reserve=reserve)
        for o, reserve in (("o-full", None), ("o-cheap", 10.0), ("o-few", None), ("o-dear", None))
    ]
    serde = Serde(registry)
    async with running([market.coordinator, *_bidders(market, asks)]):
        await _post(market, opportunities)
        got = await read_events(serde, market.topics.awards, Award, 4, timeout_s=90,
                                committed_only=True)  # fmt: skip
    awards = {r.event.opportunity_id: r.event for r in got}
    assert len(got) == 4 and set(awards) == {o.id for o in opportunities}
    assert (awards["o-full"].closed_by, awards["o-full"].bids) == ("bids", 3)
    assert (awards["o-full"].winner, awards["o-full"].cost) == (names[1], 20.0)
    assert (awards["o-cheap"].closed_by, awards["o-cheap"].bids) == ("reserve", 1)
    assert awards["o-cheap"].winner == names[0]
    assert (awards["o-few"].closed_by, awards["o-few"].bids) == ("deadline", 2)
    assert awards["o-few"].winner == names[1]
    assert awards["o-dear"].outcome == "unawarded" and awards["o-dear"].winner is None
    assert all(r.key == r.event.opportunity_id for r in got)
    # Co-partitioned: an opportunity's award is on the partition of its posting.
    posted = await read_events(serde, market.topics.posted, Opportunity, 4, timeout_s=10)
    where = {r.event.id: r.message.partition() for r in posted}
    assert all(where[r.event.opportunity_id] == r.message.partition() for r in got)


async def test_a_winner_that_declines_or_does_not_answer_in_time_is_replaced_by_the_next_bid(
    stack: Endpoints, registry: SchemaRegistryClient
) -> None:
    market = Market(unique_name("mkt"), bidding_s=3, bids_at_most=3, accept_within_s=2,
                    partitions=2)  # fmt: skip
    silent, declining, taking = (unique_name(n) for n in ("silent", "declining", "taking"))
    asks = {silent: {"job": 10.0}, declining: {"job": 20.0}, taking: {"job": 30.0}}
    offered: Counter[str] = Counter()

    async def too_slow(offer: AwardOffer, ctx: Context) -> bool:
        offered[silent] += 1
        await asyncio.sleep(5)  # longer than accept_within_s: its answer comes too late
        return True

    async def no(offer: AwardOffer, ctx: Context) -> bool:
        offered[declining] += 1
        return False

    async def yes(offer: AwardOffer, ctx: Context) -> bool:
        offered[taking] += 1
        return True

    agents = _bidders(market, asks, **{silent: too_slow, declining: no, taking: yes})
    serde = Serde(registry)
    async with running([market.coordinator, *agents]):
        await _post(market, [Opportunity(id="job", task="summarise a report", budget=50.0)])
        got = await read_events(serde, market.topics.awards, Award, 1, timeout_s=60,
                                committed_only=True)  # fmt: skip
        await asyncio.sleep(4)  # the silent bidder's late answer arrives; nothing changes
        again = await read_events(serde, market.topics.awards, Award, 2, timeout_s=3)
    assert len(got) == 1 and len(again) == 1
    award = got[0].event
    assert (award.outcome, award.winner, award.cost) == ("awarded", taking, 30.0)
    assert [entry.split(":")[0] for entry in award.passed_over] == [silent, declining]
    assert offered == Counter({silent: 1, declining: 1, taking: 1})  # best first, once each
    offers = await read_events(serde, market.topics.offers, AwardOffer, 3, timeout_s=10)
    assert [(o.event.bidder, o.event.rank) for o in offers] == [
        (silent, 1),
        (declining, 2),
        (taking, 3),
    ]


async def _post_slowly(market: Market, ids: list[str], per_s: float) -> None:
    async with Publisher("tests") as publisher:
        for opportunity in ids:
            await publisher.publish(
                market.topics.posted,
                Opportunity(id=opportunity, task=f"task {opportunity}", budget=100.0),
                key=opportunity,
            )
            await asyncio.sleep(1 / per_s)


def _coordinator(env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "hivebus.cli", "run", str(COORDINATOR), "--grace=2", *SESSION]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)


async def test_exactly_one_award_per_opportunity_with_the_coordinator_killed_mid_auction(
    stack: Endpoints, registry: SchemaRegistryClient
) -> None:
    name, count = unique_name("mkt"), 200
    # Four bids at most from three bidders: each auction's bidding ends on its 1.5 s timer,
    # so at any moment many auctions are waiting on a timer or an offer.
    env = {**os.environ, "MARKET": name, "MARKET_BIDDING_S": "1.5", "MARKET_BIDS_AT_MOST": "4",
           "MARKET_ACCEPT_S": "3"}  # fmt: skip
    market = Market(name, partitions=3)  # the same topics, to post and bid on
    ids = [f"o{i}" for i in range(count)]
    names = [unique_name(f"bidder{n}") for n in range(3)]
    asks = {bidder: {o: 10.0 + n + (i % 7) for i, o in enumerate(ids)}
            for n, bidder in enumerate(names)}  # fmt: skip
    serde = Serde(registry)
    first = _coordinator(env)
    second: subprocess.Popen[bytes] | None = None
    try:
        async with running(_bidders(market, asks)):
            posting = asyncio.create_task(_post_slowly(market, ids, per_s=25))
            # Kill it while auctions are under way: some awarded, the rest not yet.
            await read_events(serde, market.topics.awards, Award, 30, timeout_s=120,
                              committed_only=True)  # fmt: skip
            first.kill()
            first.wait(10)
            at_kill = await read_events(serde, market.topics.awards, Award, count, timeout_s=2,
                                        committed_only=True)  # fmt: skip
            assert len(at_kill) < count, "the kill must land mid-auction"
            second = _coordinator(env)
            await posting
            got = await read_events(serde, market.topics.awards, Award, count, timeout_s=240,
                                    committed_only=True)  # fmt: skip
            await asyncio.sleep(3)  # anything more would be a second award
            final = await read_events(serde, market.topics.awards, Award, count + 1,
                                      timeout_s=5, committed_only=True)  # fmt: skip
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(40)
    assert len(got) == count
    # (Closed by the timer, or by a fourth bid: an at-least-once bidder may bid twice.)
    assert {r.event.closed_by for r in final} <= {"deadline", "bids"}
    per_opportunity = Counter(r.event.opportunity_id for r in final)
    assert sorted(per_opportunity) == sorted(ids) and set(per_opportunity.values()) == {1}
    # Each award is consistent with the bids its auction took: the winner's own ask, and the
    # cheapest bidder (names[0]) whenever all three bids were in and no one was passed over.
    # (An auction whose bidding window passed while no coordinator ran closes on the bids
    # recorded before the kill, and an offer unanswered for 3 s goes to the next bidder.)
    awarded = [r.event for r in final if r.event.outcome == "awarded"]
    assert all(a.cost == asks[a.winner][a.opportunity_id] for a in awarded if a.winner)
    complete = [a for a in awarded if a.bids == 3 and not a.passed_over]
    assert complete and all(a.winner == names[0] for a in complete)
    before_kill = {r.event.opportunity_id for r in at_kill}
    assert all(r.event.winner == names[0] for r in final if r.event.opportunity_id in before_kill)
