"""The market's contracts: the Python faces of `hivebus/patterns/schemas/market/*.avsc`."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from hivebus.contracts import Record

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas" / "market"


class Opportunity(Record, avsc=SCHEMAS / "Opportunity.avsc"):
    id: str
    task: str
    details: str = ""
    budget: float
    reserve: float | None = None
    posted_by: str = ""


class Bid(Record, avsc=SCHEMAS / "Bid.avsc"):
    opportunity_id: str
    bidder: str = ""
    cost: float
    confidence: float
    note: str = ""


class AwardOffer(Record, avsc=SCHEMAS / "AwardOffer.avsc"):
    opportunity_id: str
    bidder: str
    cost: float
    confidence: float
    task: str
    details: str = ""
    rank: int


class AwardAnswer(Record, avsc=SCHEMAS / "AwardAnswer.avsc"):
    opportunity_id: str
    bidder: str
    accepted: bool
    note: str = ""


class Award(Record, avsc=SCHEMAS / "Award.avsc"):
    opportunity_id: str
    outcome: str
    winner: str | None = None
    cost: float | None = None
    confidence: float | None = None
    bids: int
    closed_by: str
    passed_over: list[str] = Field(default_factory=list)
    reason: str = ""
