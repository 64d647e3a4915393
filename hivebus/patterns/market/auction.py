"""One auction, as the coordinator's durable run plays it.

Bidding is a `ctx.collect` of bids on the opportunity: it closes after the most bids the
market takes, at the first bid at or under the reserve, or when its durable timer fires, so
an auction nobody bids on still ends. Then the acceptable bids are offered, best first, each
with `ctx.call` and a deadline: a bidder that declines or stays silent is passed over for the
next. The award is published when the run completes, in the coordinator's transaction, and
a run completes once, so every opportunity gets exactly one award, however often the
coordinator is killed on the way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hivebus.durable import Callee, CallTimedOut, DurableContext
from hivebus.patterns.market.records import Award, AwardAnswer, AwardOffer, Bid, Opportunity

Preference = Callable[[Bid], Any]  # a sort key: the smallest is the best bid


def cheapest(bid: Bid) -> tuple[float, float, str]:
    """The default preference: the lowest cost, then the highest confidence, then the name
    (so equal bids are ranked the same way on every replay)."""
    return (bid.cost, -bid.confidence, bid.bidder)


def acceptable(bids: list[Bid], budget: float, prefer: Preference) -> list[Bid]:
    """The bids that may win, best first: within budget, a sane confidence, one per bidder
    (a bidder redelivered after a crash may have bid twice; its first bid counts)."""
    first: dict[str, Bid] = {}
    for bid in bids:
        if 0 <= bid.cost <= budget and 0 <= bid.confidence <= 1:
            first.setdefault(bid.bidder, bid)
    return sorted(first.values(), key=prefer)


def at_reserve(reserve: float | None) -> Callable[[list[Bid]], bool] | None:
    if reserve is None:
        return None
    return lambda bids: any(0 <= bid.cost <= reserve for bid in bids)


@dataclass(frozen=True)
class Auction:
    """How the coordinator runs each opportunity's auction."""

    bidding: Callee  # opportunities out, bids back
    offering: Callee  # award offers out, answers back
    awards: str
    bidding_s: float
    bids_at_most: int | None
    accept_within_s: float
    offers_at_most: int | None
    prefer: Preference

    async def __call__(self, opportunity: Opportunity, ctx: DurableContext) -> None:
        key = opportunity.id
        bids: list[Bid] = await ctx.collect(
            self.bidding, opportunity, key=key, count=self.bids_at_most,
            until=at_reserve(opportunity.reserve), timeout_s=self.bidding_s,
        )  # fmt: skip
        closed_by = self._closed_by(bids, opportunity.reserve)
        ranked = acceptable(bids, opportunity.budget, self.prefer)[: self.offers_at_most]
        passed_over: list[str] = []
        for rank, bid in enumerate(ranked, start=1):
            offer = AwardOffer(
                opportunity_id=key, bidder=bid.bidder, cost=bid.cost, confidence=bid.confidence,
                task=opportunity.task, details=opportunity.details, rank=rank,
            )  # fmt: skip
            try:
                answer: AwardAnswer = await ctx.call(
                    self.offering, offer, key=key, timeout_s=self.accept_within_s
                )
            except CallTimedOut:
                passed_over.append(f"{bid.bidder}: no answer within {self.accept_within_s:g} s")
                continue
            if answer.accepted:
                award = Award(
                    opportunity_id=key, outcome="awarded", winner=bid.bidder, cost=bid.cost,
                    confidence=bid.confidence, bids=len(bids), closed_by=closed_by,
                    passed_over=passed_over, reason=f"rank {rank} of {len(ranked)} accepted",
                )  # fmt: skip
                await ctx.publish(self.awards, award, key=key)
                return
            passed_over.append(f"{bid.bidder}: declined{': ' + answer.note if answer.note else ''}")
        reason = (
            f"none of the {len(ranked)} acceptable bids accepted" if ranked
            else f"no bid within the budget of {opportunity.budget:g} ({len(bids)} bids)"
        )  # fmt: skip
        unawarded = Award(opportunity_id=key, outcome="unawarded", bids=len(bids),
                          closed_by=closed_by, passed_over=passed_over, reason=reason)  # fmt: skip
        await ctx.publish(self.awards, unawarded, key=key)

    def _closed_by(self, bids: list[Bid], reserve: float | None) -> str:
        reached = at_reserve(reserve)
        if reached is not None and reached(bids):
            return "reserve"
        if self.bids_at_most is not None and len(bids) >= self.bids_at_most:
            return "bids"
        return "deadline"
