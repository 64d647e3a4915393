"""A bidder: a plain agent, its own consumer group, that bids on opportunities and answers
the award offers addressed to it.

Every bidder reads every opportunity and every offer (each is its own group); it answers an
offer only when the offer names it. Its bids and answers are its handlers' outputs, so they
carry the coordinator's call id as their causation and find their way back to the auction.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from hivebus.errors import ConfigError
from hivebus.patterns.market.records import AwardAnswer, AwardOffer, Bid, Opportunity
from hivebus.runtime import Agent, Context

if TYPE_CHECKING:
    from hivebus.patterns.market import Market

BidFn = Callable[[Opportunity, Context], Awaitable[Bid | None]]
AcceptFn = Callable[[AwardOffer, Context], Awaitable[bool]]


async def always(offer: AwardOffer, ctx: Context) -> bool:
    return True


def bidder_agent(
    market: Market, name: str, bid: BidFn, accept: AcceptFn | None, options: dict[str, Any]
) -> Agent:
    for role, fn in (("bid", bid), ("accept", accept)):
        if fn is not None and not inspect.iscoroutinefunction(fn):
            raise ConfigError(f"the {role}= of bidder {name!r} must be an `async def` "
                              "taking (event, ctx)")  # fmt: skip
    taking = accept or always
    topics = market.topics
    agent = Agent(name, topics=[*options.pop("topics", []), *market.topic_specs()], **options)

    @agent.on(topics.open, Opportunity, output=topics.bids)
    async def bid_on(opportunity: Opportunity, ctx: Context) -> Bid | None:
        made = await bid(opportunity, ctx)
        if made is None:  # not interested
            return None
        return made.model_copy(update={"opportunity_id": opportunity.id, "bidder": name})

    @agent.on(topics.offers, AwardOffer, output=topics.answers)
    async def answer(offer: AwardOffer, ctx: Context) -> AwardAnswer | None:
        if offer.bidder != name:  # offered to another bidder
            return None
        accepted = await taking(offer, ctx)
        return AwardAnswer(opportunity_id=offer.opportunity_id, bidder=name, accepted=accepted)

    return agent
