"""The worker pools' contracts: the Python faces of `schemas/workers/*.avsc`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hivebus.contracts import Record

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas" / "workers"


class WorkItem(Record, avsc=SCHEMAS / "WorkItem.avsc"):
    id: str
    correlation_id: str
    kind: str
    input: str
    requested_by: str = ""

    def arguments(self) -> Any:
        return json.loads(self.input)


class WorkResult(Record, avsc=SCHEMAS / "WorkResult.avsc"):
    id: str
    correlation_id: str
    kind: str
    worker: str
    ok: bool
    output: str = "null"
    error: str = ""
    attempts: int = 1
    duration_ms: float = 0.0

    def value(self) -> Any:
        return json.loads(self.output)
