"""The audit's contracts: the Python faces of `schemas/AuditBatch.avsc` (the records of the
audit topic, each holding `AuditEvent`s and columns of plain decisions) and
`schemas/AuditBlob.avsc`."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from hivebus.contracts import Record

SCHEMAS = Path(__file__).parent / "schemas"
DECISION, STEP, LLM, ATTEMPT = "decision", "step", "llm", "attempt"
OK, DEAD = "ok", "dead-lettered"  # a decision's outcomes, but for a durable run's state
LATE = 2**31 - 1  # the seq of a decision written after its handling's (audit/dead_letters.py)


class InputRef(Record, avsc=None):
    """The record decided about (nested in `AuditEvent`; bound through it)."""

    topic: str
    partition: int
    offset: int
    event_id: str
    causation_id: str | None = None
    type: str
    payload: str | None = None


class OutputRef(Record, avsc=None):
    topic: str
    event_id: str
    type: str
    payload: str | None = None


class StepInfo(Record, avsc=None):
    name: str
    position: int
    durable: bool = False
    attempts: int = 1
    result: str | None = None
    result_ref: str | None = None
    llm_requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


class LLMCall(Record, avsc=None):
    model: str
    requested_model: str
    step: str | None = None
    prompt_ref: str | None = None
    response_ref: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: float = 0.0
    cost: float | None = None
    finish_reason: str | None = None


class ErrorInfo(Record, avsc=None):
    type: str
    message: str
    dead_letter_topic: str | None = None


class AuditEvent(Record, avsc=None):
    """One fact of the black box (nested in `AuditBatch`; bound through it)."""

    kind: str
    decision_id: str
    seq: int
    agent: str
    agent_version: str
    correlation_id: str
    run_id: str | None = None
    at_ms: int
    duration_ms: float
    outcome: str
    attempt: int = 1
    input: InputRef | None = None
    outputs: list[OutputRef] = Field(default_factory=list)
    step: StepInfo | None = None
    llm: LLMCall | None = None
    error: ErrorInfo | None = None


class PlainOutput(Record, avsc=None):
    topic: int  # positions in `PlainDecisions.names`
    event_id: str
    type: int


class PlainDecision(Record, avsc=None):
    offset_delta: int
    event_id: str
    correlation_id: str | None = None  # None: the event_id
    causation_id: str | None = None
    run_id: str | None = None
    at_delta_ms: int
    duration_ms: float
    attempt: int
    type: int
    outputs: list[PlainOutput]


class PlainDecisions(Record, avsc=None):
    """Decisions that did nothing but publish, row by row: what the audit wrote before
    `PlainColumns` (`expand.py` still reads them)."""

    agent: str
    agent_version: str
    topic: str
    partition: int
    names: list[str]
    offset: int
    at_ms: int
    rows: list[PlainDecision]


class PlainLineage(Record, avsc=None):
    correlation_id: str | None = None  # None: the event_id
    causation_id: str | None = None
    run_id: str | None = None


class PlainOdd(Record, avsc=None):
    row: int
    attempt: int
    type: int
    outputs: list[PlainOutput]


class PlainColumns(Record, avsc=None):
    """Plain decisions by column (`plain.py` writes them, `expand.py` reads them)."""

    agent: str
    agent_version: str
    topic: str
    partition: int
    names: list[str]
    type: int
    output_topic: int
    output_type: int
    offset: int
    at_ms: int
    clock: float
    offset_deltas: list[int]
    event_ids: list[str]
    lineage: list[PlainLineage]
    began: list[float]
    ended: list[float]
    output_ids: list[str]
    odd: list[PlainOdd]


class AuditBatch(Record, avsc=SCHEMAS / "AuditBatch.avsc"):
    events: list[AuditEvent] = Field(default_factory=list)
    plain: list[PlainDecisions] = Field(default_factory=list)  # written before `columns`
    columns: list[PlainColumns] = Field(default_factory=list)


class AuditBlob(Record, avsc=SCHEMAS / "AuditBlob.avsc"):
    sha256: str
    media_type: str
    size: int
    data: str
    truncated: bool = False
