"""The Python faces of the seed example's contracts (the .avsc files in schemas/ rule)."""

from __future__ import annotations

from pathlib import Path

from hivebus import Record

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"


class Transaction(Record, avsc=SCHEMAS / "payments" / "Transaction.v2.avsc"):
    """The current (v2) transaction; v1 records decode into it with `device_id = None`."""

    id: str
    account: str
    amount: float
    currency: str
    channel: str
    country: str
    merchant: str
    device_id: str | None = None


class TransactionV1(Record, avsc=SCHEMAS / "payments" / "Transaction.v1.avsc"):
    """The first version, still written by older producers."""

    id: str
    account: str
    amount: float
    currency: str
    channel: str
    country: str
    merchant: str


class FlaggedTransaction(Record, avsc=SCHEMAS / "payments" / "FlaggedTransaction.avsc"):
    tx_id: str
    account: str
    amount: float
    currency: str
    channel: str
    risk: float
    reasons: list[str]


class ComplianceDecision(Record, avsc=SCHEMAS / "compliance" / "ComplianceDecision.avsc"):
    tx_id: str
    account: str
    decision: str
    risk: float
    rationale: str
    model: str


class LeadRequest(Record, avsc=SCHEMAS / "research" / "LeadRequest.avsc"):
    id: str
    topic: str
    market: str
    requested_by: str


class Lead(Record, avsc=None):
    """One company found (nested in `LeadReport`; bound through it)."""

    company: str
    url: str
    why: str


class LeadReport(Record, avsc=SCHEMAS / "research" / "LeadReport.avsc"):
    request_id: str
    topic: str
    leads: list[Lead]
    summary: str
    approved_by: str
    model: str
