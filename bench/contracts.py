"""The records the benchmarks move, as hivebus models (the .avsc files in bench/schemas rule)."""

from __future__ import annotations

import json
from pathlib import Path

from hivebus import Record

SCHEMAS = Path(__file__).parent / "schemas"
SCHEMA_PATH = SCHEMAS / "Payment.avsc"
SCHEMA_STR = SCHEMA_PATH.read_text()
SCHEMA = json.loads(SCHEMA_STR)
JOB_STR = (SCHEMAS / "Job.avsc").read_text()
RESULT_STR = (SCHEMAS / "JobResult.avsc").read_text()


class Payment(Record, avsc=SCHEMA_PATH):
    id: str
    account: str
    amount: float
    currency: str
    channel: str
    country: str
    merchant: str
    seq: int


class Job(Record, avsc=SCHEMAS / "Job.avsc"):
    id: str
    key: str
    seq: int
    delay_ms: int
    sent_at_us: int


class JobResult(Record, avsc=SCHEMAS / "JobResult.avsc"):
    id: str
    key: str
    seq: int
    sent_at_us: int
    started_at_us: int
    system: str


def payment(i: int, keys: int) -> dict[str, object]:
    return {
        "id": f"pay-{i:08d}", "account": f"acct-{i % keys:05d}", "amount": 10.0 + (i % 997),
        "currency": "EUR", "channel": "card" if i % 3 else "wire", "country": "FR",
        "merchant": "bookshop", "seq": i // keys,
    }  # fmt: skip
