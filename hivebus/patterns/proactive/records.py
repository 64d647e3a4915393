"""The proactive pattern's contract: the Python face of `schemas/proactive/*.avsc`."""

from __future__ import annotations

from pathlib import Path

from hivebus.contracts import Record

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas" / "proactive"


class AnomalyDetected(Record, avsc=SCHEMAS / "AnomalyDetected.avsc"):
    id: str
    detector: str
    series: str
    value: float
    expected: float
    spread: float
    score: float
    window: int
    observed_at: str
