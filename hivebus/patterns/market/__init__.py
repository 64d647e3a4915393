"""Market-based coordination: opportunities auctioned to bidding agents, one award each.

```
poster ──Opportunity──▶ <market>.posted ──▶ coordinator (durable, exactly-once)
                         <market>.open   ◀── the opportunity, to every bidder
                         <market>.bids   ◀── each bidder's Bid
                         <market>.offers ◀── AwardOffer to the best remaining bidder
                         <market>.answers◀── its AwardAnswer
                         <market>.awards ◀── the Award, exactly one per opportunity
```

Every topic is keyed by the opportunity id and has the same number of partitions, so one
opportunity's events share a partition number everywhere. See docs/patterns/market.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hivebus.durable import Callee, DurableContext
from hivebus.errors import ConfigError
from hivebus.kafka.admin import TopicSpec
from hivebus.patterns.market.auction import Auction, Preference, cheapest
from hivebus.patterns.market.bidder import AcceptFn, BidFn, bidder_agent
from hivebus.patterns.market.records import Award, AwardAnswer, AwardOffer, Bid, Opportunity
from hivebus.runtime import Agent

__all__ = ["Award", "AwardAnswer", "AwardOffer", "Bid", "Market", "MarketTopics", "Opportunity"]


@dataclass(frozen=True)
class MarketTopics:
    posted: str
    open: str
    bids: str
    offers: str
    answers: str
    awards: str

    @classmethod
    def of(cls, market: str) -> MarketTopics:
        return cls(*(f"{market}.{part}" for part in
                     ("posted", "open", "bids", "offers", "answers", "awards")))  # fmt: skip


class Market:
    """A market: its coordinator agent (`market.coordinator`), its topics, and `bidder()`
    to declare the agents that bid.

    - `bidding_s`: how long bids are taken (a durable timer, so it fires even when no bid
      comes and across coordinator restarts); `bids_at_most` closes it earlier, as does an
      opportunity's `reserve`.
    - `accept_within_s`: how long an offered bidder has to accept before the next best bid
      is offered; `offers_at_most` bounds how many are offered before the auction ends
      unawarded (all acceptable bids by default).
    - `prefer`: the sort key of bids, smallest best (`cheapest` by default).
    """

    def __init__(
        self,
        name: str,
        *,
        bidding_s: float = 5.0,
        bids_at_most: int | None = None,
        accept_within_s: float = 5.0,
        offers_at_most: int | None = None,
        prefer: Preference = cheapest,
        partitions: int = 6,
        max_in_flight: int = 256,
    ) -> None:
        for field, value in (("bidding_s", bidding_s), ("accept_within_s", accept_within_s)):
            if not value > 0:
                raise ConfigError(f"Market.{field} must be more than 0 s, got {value!r}")
        for field, bound in (("bids_at_most", bids_at_most), ("offers_at_most", offers_at_most),
                             ("partitions", partitions)):  # fmt: skip
            if bound is not None and bound < 1:
                raise ConfigError(f"Market.{field} must be at least 1, got {bound!r}")
        self.name, self.partitions = name, partitions
        self.topics = MarketTopics.of(name)
        bidding = Callee(self.topics.open, reply_topic=self.topics.bids, returns=Bid)
        offering = Callee(self.topics.offers, reply_topic=self.topics.answers,
                          returns=AwardAnswer)  # fmt: skip
        auction = Auction(bidding, offering, self.topics.awards, bidding_s, bids_at_most,
                          accept_within_s, offers_at_most, prefer)  # fmt: skip
        self.coordinator = Agent(
            f"{name}.coordinator",
            description=f"Runs the auctions of market {name!r}: one award per opportunity",
            durable=True, guarantee="exactly_once", calls=[bidding, offering],
            max_in_flight=max_in_flight, topics=self.topic_specs(), publishes=[self.topics.awards],
        )  # fmt: skip

        async def run_auction(opportunity: Opportunity, ctx: DurableContext) -> None:
            await auction(opportunity, ctx)

        self.coordinator.on(self.topics.posted, Opportunity)(run_auction)

    def topic_specs(self) -> list[TopicSpec]:
        t = self.topics
        names = (t.posted, t.open, t.bids, t.offers, t.answers, t.awards)
        return [TopicSpec(topic, partitions=self.partitions) for topic in names]

    def bidder(
        self, name: str, bid: BidFn, *, accept: AcceptFn | None = None, **agent_options: Any
    ) -> Agent:
        """A bidding agent named `name` (its consumer group): `bid(opportunity, ctx)` returns
        a `Bid` (its cost and confidence; the rest is filled in) or None to stay out;
        `accept(offer, ctx)` says whether it takes the work when offered (yes by default).
        `agent_options` go to its `Agent` (max_in_flight, retry, ...)."""
        return bidder_agent(self, name, bid, accept, dict(agent_options))
