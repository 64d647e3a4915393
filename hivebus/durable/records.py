"""The contracts of durable runs: the run inbox's requests and the journal's records."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from hivebus.contracts import Record

SCHEMAS = Path(__file__).parent / "schemas"
# The kinds of `RunRequest` (see runs.py for what each does).
START, WAKE, RESUME, SIGNAL, CANCEL = "start", "wake", "resume", "signal", "cancel"


class RunRequest(Record, avsc=SCHEMAS / "RunRequest.avsc"):
    run_id: str
    kind: str
    topic: str = ""
    partition: int = -1
    offset: int = -1
    key: bytes | None = None
    value: bytes = b""
    headers: dict[str, bytes] = Field(default_factory=dict)
    signal: str | None = None
    payload: bytes | None = None
    requested_at: str


class JournalStep(Record, avsc=None):
    """One recorded step (nested in `RunJournal`; bound through it)."""

    seq: int
    name: str
    outcome: str
    codec: str
    value: bytes | None = None
    error_type: str | None = None
    error: str | None = None
    started_at: str
    duration_ms: float
    attempts: int = 1
    llm_requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


class RunJournal(Record, avsc=SCHEMAS / "RunJournal.avsc"):
    run_id: str
    agent: str
    state: str
    steps: list[JournalStep] = Field(default_factory=list)
    topic: str
    partition: int = -1
    offset: int
    input_key: bytes | None = None
    input_value: bytes = b""
    input_headers: dict[str, bytes] = Field(default_factory=dict)
    wake_at: str | None = None
    waiting_for: str | None = None
    signals: dict[str, bytes] = Field(default_factory=dict)
    started_at: str
    updated_at: str
    detail: str | None = None
