"""The Python faces of the report-writing example's contracts (schemas/reports/*.avsc rule)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from hivebus import Record

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas" / "reports"


class ReportRequest(Record, avsc=SCHEMAS / "ReportRequest.avsc"):
    id: str
    subject: str
    sections: list[str]
    requested_by: str = ""


class Report(Record, avsc=SCHEMAS / "Report.avsc"):
    request_id: str
    subject: str
    body: str
    children: int
    missing: list[str] = Field(default_factory=list)
