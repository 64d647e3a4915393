"""The saga's contracts: `SagaOutcome`, the Python face of
`hivebus/patterns/schemas/saga/SagaOutcome.avsc`, and `SagaFailure`, what a chooser is told."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from hivebus.contracts import Record

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas" / "saga"

COMPLETED, COMPENSATED, COMPENSATION_FAILED = "completed", "compensated", "compensation_failed"


class SagaOutcome(Record, avsc=SCHEMAS / "SagaOutcome.avsc"):
    saga_id: str
    saga: str
    status: str
    finished: list[str] = Field(default_factory=list)
    failed_step: str | None = None
    failure: str = ""
    in_doubt: bool = False
    plan: dict[str, str] = Field(default_factory=dict)
    chosen_by: str = ""
    choice_note: str = ""
    compensated: list[str] = Field(default_factory=list)
    compensation_failures: list[str] = Field(default_factory=list)


class SagaFailure(BaseModel):
    """The failure event a chooser decides from: which step failed, why, what had finished,
    and the compensation options of each finished step (the first is the declared one)."""

    saga_id: str
    saga: str
    failed_step: str
    failure: str
    in_doubt: bool = False
    finished: list[str]
    options: dict[str, list[str]]
    input: str = Field(default="", description="the saga's input, as JSON")
