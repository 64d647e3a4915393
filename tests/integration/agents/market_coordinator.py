"""The coordinator of market MARKET (bidding MARKET_BIDDING_S, offers answered within
MARKET_ACCEPT_S), run as its own process so the test can kill it -9 mid-auction."""

from __future__ import annotations

import os

from hivebus.patterns import Market

market = Market(
    os.environ["MARKET"],
    bidding_s=float(os.environ.get("MARKET_BIDDING_S", "3")),
    bids_at_most=int(os.environ.get("MARKET_BIDS_AT_MOST", "3")),
    accept_within_s=float(os.environ.get("MARKET_ACCEPT_S", "3")),
    partitions=3,
)
coordinator = market.coordinator
