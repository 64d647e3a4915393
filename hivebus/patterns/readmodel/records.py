"""The read model's contract: the Python face of `schemas/readmodel/ViewEntry.avsc`."""

from __future__ import annotations

from pathlib import Path

from hivebus.contracts import Record

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas" / "readmodel"


class ViewEntry(Record, avsc=SCHEMAS / "ViewEntry.avsc"):
    key: str
    value: str | None = None
    version: int
    updated_at: str
