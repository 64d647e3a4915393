"""Multi-agent patterns, each built only from agents, publishing and durable runs.

- `Market`: opportunities auctioned to bidding agents, exactly one award each.
"""

from hivebus.patterns.market import (
    Award,
    AwardAnswer,
    AwardOffer,
    Bid,
    Market,
    MarketTopics,
    Opportunity,
)

__all__ = ["Award", "AwardAnswer", "AwardOffer", "Bid", "Market", "MarketTopics", "Opportunity"]
