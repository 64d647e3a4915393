"""The Python faces of the incident board's contracts (schemas/incidents/*.avsc rule)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from hivebus import Record

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas" / "incidents"


class Incident(Record, avsc=SCHEMAS / "Incident.avsc"):
    id: str
    service: str
    summary: str
    severity: str = "sev2"


class Hypothesis(Record, avsc=SCHEMAS / "Hypothesis.avsc"):
    cause: str
    confidence: float = Field(ge=0, le=1)
    evidence: list[str] = Field(default_factory=list)


class RootCause(Record, avsc=SCHEMAS / "RootCause.avsc"):
    incident_id: str
    root_cause: str
    confidence: float
    closed_by: str
    board_version: int
    contributors: list[str] = Field(default_factory=list)
