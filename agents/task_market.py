"""A task market: LLM agents bid cost and confidence for pieces of work, one wins each.

Opportunities (`hivebus.patterns.Opportunity`) are posted to `tasks.posted`, keyed by id.
Three bidders, each its own consumer group, ask their LLM to estimate the work against their
skills and bid; the market's coordinator (a durable, exactly-once agent) takes bids for 3 s
or until all three are in, offers the task to the acceptable bid of best value (cost per
unit of confidence) and, when that bidder declines or is silent for 15 s, to the next.
Each opportunity gets exactly one `Award` on `tasks.awards`, also when the coordinator's
worker is killed mid-auction (`hivebus dev demo market`).

Without `HIVEBUS_LLM_*` the offline model answers (deterministic, schema-valid estimates).
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from hivebus import Agent, Context
from hivebus.patterns import AwardOffer, Bid, Market, Opportunity


def value_for_money(bid: Bid) -> tuple[float, str]:
    """Cost per expected success: a cheap bid its bidder doubts ranks below a sure one."""
    return (bid.cost / max(bid.confidence, 0.05), bid.bidder)


market = Market("tasks", bidding_s=3, bids_at_most=3, accept_within_s=15, prefer=value_for_money)
coordinator = market.coordinator


class Estimate(BaseModel):
    """What a bidder's LLM answers about a task."""

    hours: float = Field(ge=0.5, le=40, description="how long the work would take")
    confidence: float = Field(ge=0, le=1, description="how likely the result is good")
    fits: bool = Field(description="whether the task is within the skills")


def llm_bidder(name: str, skills: str, hourly_rate: float, *, min_budget: float = 0.0) -> Agent:
    """A bidder that asks its LLM for an estimate; it stays out when the task does not fit,
    and declines offers under `min_budget` (too small to be worth it)."""

    async def bid(opportunity: Opportunity, ctx: Context) -> Bid | None:
        estimate = await ctx.llm.complete_json(
            f"You are {name}, skilled in {skills}. Estimate this task.\n"
            f"Task: {opportunity.task}\nDetails: {opportunity.details or '-'}",
            schema=Estimate,
        )
        if not estimate.fits and estimate.confidence < 0.3:
            return None
        return Bid(
            opportunity_id=opportunity.id, cost=round(estimate.hours * hourly_rate, 2),
            confidence=estimate.confidence, note=f"{estimate.hours:g} h at {hourly_rate:g}/h",
        )  # fmt: skip

    async def accept(offer: AwardOffer, ctx: Context) -> bool:
        return offer.cost >= min_budget

    return market.bidder(name, bid, accept=accept, max_in_flight=32)


translator = llm_bidder("translator-bot", "translation and localisation", 6.0, min_budget=40)
analyst = llm_bidder("analyst-bot", "data analysis and reports", 9.0)
generalist = llm_bidder("generalist-bot", "anything, less well", 4.5)
