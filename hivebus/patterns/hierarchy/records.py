"""The hierarchy's contracts: the Python faces of `schemas/hierarchy/*.avsc`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hivebus.contracts import Record

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas" / "hierarchy"
OK, FAILED, ORPHANED = "ok", "failed", "orphaned"


class ChildTask(Record, avsc=SCHEMAS / "ChildTask.avsc"):
    parent_agent: str
    parent_run: str
    index: int
    depth: int
    role: str = ""
    input: str
    deadline: str | None = None

    def arguments(self) -> Any:
        return json.loads(self.input)


class ChildResult(Record, avsc=SCHEMAS / "ChildResult.avsc"):
    parent_run: str
    index: int
    depth: int
    outcome: str
    output: str = "null"
    error: str = ""

    def value(self) -> Any:
        return json.loads(self.output)
