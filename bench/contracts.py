"""The record every benchmark moves: eight fields, like a payment event."""

from __future__ import annotations

import json
from pathlib import Path

from hivebus import Record

SCHEMA_PATH = Path(__file__).parent / "schemas" / "Payment.avsc"
SCHEMA_STR = SCHEMA_PATH.read_text()
SCHEMA = json.loads(SCHEMA_STR)


class Payment(Record, avsc=SCHEMA_PATH):
    id: str
    account: str
    amount: float
    currency: str
    channel: str
    country: str
    merchant: str
    seq: int


def payment(i: int, keys: int) -> dict[str, object]:
    return {
        "id": f"pay-{i:08d}", "account": f"acct-{i % keys:05d}", "amount": 10.0 + (i % 997),
        "currency": "EUR", "channel": "card" if i % 3 else "wire", "country": "FR",
        "merchant": "bookshop", "seq": i // keys,
    }  # fmt: skip
