"""The market's pure parts: which bids may win and in what order, and its configuration."""

from __future__ import annotations

import pytest

from hivebus import ConfigError
from hivebus.patterns import Bid, Market
from hivebus.patterns.market.auction import acceptable, at_reserve, cheapest


def _bid(bidder: str, cost: float, confidence: float = 0.5) -> Bid:
    return Bid(opportunity_id="o", bidder=bidder, cost=cost, confidence=confidence)


def test_acceptable_bids_are_within_budget_one_per_bidder_cheapest_then_surest_first() -> None:
    bids = [
        _bid("a", 30), _bid("b", 20, 0.6), _bid("c", 20, 0.9), _bid("a", 5),  # a's 2nd ignored
        _bid("d", 120), _bid("e", -1), _bid("f", 10, 1.5),  # over budget, negative, bad conf
    ]  # fmt: skip
    ranked = acceptable(bids, budget=100, prefer=cheapest)
    assert [(b.bidder, b.cost) for b in ranked] == [("c", 20), ("b", 20), ("a", 30)]


def test_a_preference_reorders_the_bids() -> None:
    bids = [_bid("cheap", 10, 0.2), _bid("sure", 40, 0.95)]
    ranked = acceptable(bids, budget=100, prefer=lambda b: -b.confidence)
    assert [b.bidder for b in ranked] == ["sure", "cheap"]


def test_the_reserve_is_reached_by_a_bid_at_or_under_it() -> None:
    reached = at_reserve(10.0)
    assert reached is not None
    assert not reached([_bid("a", 11)]) and reached([_bid("a", 11), _bid("b", 10)])
    assert at_reserve(None) is None


@pytest.mark.parametrize(
    ("options", "field"),
    [({"bidding_s": 0}, "bidding_s"), ({"accept_within_s": -1}, "accept_within_s"),
     ({"bids_at_most": 0}, "bids_at_most"), ({"partitions": 0}, "partitions")],
)  # fmt: skip
def test_bad_market_settings_are_refused_naming_the_field(
    options: dict[str, float], field: str
) -> None:
    with pytest.raises(ConfigError, match=f"Market.{field}"):
        Market("m", **options)  # type: ignore[arg-type]


def test_a_bidder_must_be_async() -> None:
    def bid(opportunity: object, ctx: object) -> None:
        return None

    with pytest.raises(ConfigError, match="bid= of bidder 'x' must be an `async def`"):
        Market("m").bidder("x", bid)  # type: ignore[arg-type]


def test_a_market_names_its_topics_and_its_coordinator() -> None:
    market = Market("tasks", partitions=4)
    assert market.coordinator.name == "tasks.coordinator" and market.coordinator.durable
    assert market.coordinator.subscriptions == ["tasks.posted"]
    assert {spec.name: spec.partitions for spec in market.topic_specs()} == {
        f"tasks.{t}": 4 for t in ("posted", "open", "bids", "offers", "answers", "awards")
    }
