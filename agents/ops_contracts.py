"""The Python faces of the ops example's contracts (schemas/ops/*.avsc rule)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from hivebus import Record

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas" / "ops"


class ServiceMetric(Record, avsc=SCHEMAS / "ServiceMetric.avsc"):
    service: str
    name: str
    value: float
    at: str


class RootCauseReport(Record, avsc=SCHEMAS / "RootCauseReport.avsc"):
    anomaly_id: str
    series: str
    summary: str
    evidence: list[str]
    missing: list[str] = Field(default_factory=list)
    model: str
