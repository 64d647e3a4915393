"""The audit events of what a handling did besides deciding: its steps, its LLM calls, and
the attempts that failed and were retried.

Pure: from what the trail saw to `AuditEvent`s, with the blobs they name. Every text that
may carry data (results, prompts, replies, errors) is redacted and scrubbed here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from hivebus.audit.blobs import JSON, TEXT, blob, ref
from hivebus.audit.dead_letters import MAX_ERROR
from hivebus.audit.prices import Prices
from hivebus.audit.records import (
    ATTEMPT,
    LLM,
    STEP,
    AuditBlob,
    AuditEvent,
    ErrorInfo,
    LLMCall,
    StepInfo,
)
from hivebus.audit.redact import scrub, to_json
from hivebus.audit.trail import AttemptSeen, LLMSeen, Seen
from hivebus.runtime.observe import StepSeen


@dataclass(frozen=True)
class Identity:
    """What every event of one handling shares."""

    decision_id: str
    agent: str
    agent_version: str
    correlation_id: str
    run_id: str | None

    def event(
        self, kind: str, seq: int, at_ms: int, duration_ms: float, error: BaseException | None,
        secrets: set[str], attempt: int, *, step: StepInfo | None = None,
        llm: LLMCall | None = None,
    ) -> AuditEvent:  # fmt: skip
        return AuditEvent(
            kind=kind, decision_id=self.decision_id, seq=seq, agent=self.agent,
            agent_version=self.agent_version, correlation_id=self.correlation_id,
            run_id=self.run_id, at_ms=at_ms, duration_ms=duration_ms,
            outcome="ok" if error is None else "failed", attempt=attempt, step=step, llm=llm,
            error=error_info(error, secrets) if error is not None else None,
        )  # fmt: skip


@dataclass
class Blobs:
    """The blobs a handling's events name, each once, in the order they were made."""

    limit: int
    found: dict[str, AuditBlob]

    def keep(self, data: str, media_type: str) -> str:
        made = blob(data, media_type, self.limit)
        self.found.setdefault(made.sha256, made)
        return ref(made)


def error_info(error: BaseException, secrets: set[str], topic: str | None = None) -> ErrorInfo:
    message = scrub(str(error)[:MAX_ERROR], secrets)
    return ErrorInfo(type=type(error).__name__, message=message, dead_letter_topic=topic)


def step_event(
    who: Identity, seq: int, order: int, seen: StepSeen, attempt: int, secrets: set[str],
    blobs: Blobs, inline_bytes: int,
) -> AuditEvent:  # fmt: skip
    result: str | None = None
    result_ref: str | None = None
    if seen.error is None:
        text = to_json(seen.value, secrets)
        if len(text) > inline_bytes:
            result_ref = blobs.keep(text, JSON)
        else:
            result = text
    info = StepInfo(
        name=seen.name, position=seen.position if seen.position is not None else order,
        durable=seen.durable, attempts=seen.attempts, result=result, result_ref=result_ref,
        llm_requests=seen.llm_requests, prompt_tokens=seen.prompt_tokens,
        completion_tokens=seen.completion_tokens,
    )  # fmt: skip
    return who.event(
        STEP, seq, seen.started_ms, seen.duration_ms, seen.error, secrets, attempt, step=info
    )


def llm_event(
    who: Identity, seq: int, seen: LLMSeen, attempt: int, secrets: set[str], blobs: Blobs,
    prices: Prices, content: bool,
) -> AuditEvent:  # fmt: skip
    request, completion = seen.request, seen.completion
    prompt_ref = response_ref = None
    if content:
        prompt = json.dumps(request.messages, ensure_ascii=False, default=str)
        prompt_ref = blobs.keep(scrub(prompt, secrets), JSON)
        if completion is not None:
            response_ref = blobs.keep(scrub(completion.text, secrets), TEXT)
    model = completion.model if completion is not None else request.model
    prompt_tokens = completion.prompt_tokens if completion is not None else 0
    completion_tokens = completion.completion_tokens if completion is not None else 0
    call = LLMCall(
        model=model, requested_model=request.model, step=seen.step, prompt_ref=prompt_ref,
        response_ref=response_ref, prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens, latency_ms=1000 * seen.latency_s,
        cost=prices.cost(model, prompt_tokens, completion_tokens) if completion else None,
        finish_reason=completion.finish_reason if completion is not None else None,
    )  # fmt: skip
    took = 1000 * seen.latency_s
    return who.event(LLM, seq, seen.started_ms, took, seen.error, secrets, attempt, llm=call)


def side_events(
    who: Identity, seen: list[tuple[Seen, int]], secrets: set[str], blobs: Blobs,
    prices: Prices, inline_bytes: int, content: bool,
) -> list[AuditEvent]:  # fmt: skip
    """The events of the steps, LLM calls and failed attempts `seen` (each with its handler
    attempt), numbered from 0 in the order they ended."""
    events, steps = [], 0
    calls: list[LLMSeen] = []  # LLM calls not yet counted in the step they were made in
    for seq, (item, attempt) in enumerate(seen):
        if isinstance(item, AttemptSeen):  # its error, redacted as any other is
            events.append(who.event(ATTEMPT, seq, item.at_ms, 0.0, item.error, secrets, attempt))
            continue
        if isinstance(item, LLMSeen):
            events.append(llm_event(who, seq, item, attempt, secrets, blobs, prices, content))
            calls.append(item)
            continue
        if not item.durable:  # a durable step counted its own; a plain one is told here
            mine = [c for c in calls if c.step == item.name and c.completion is not None]
            calls = [c for c in calls if c.step != item.name]
            item.llm_requests = len(mine)
            item.prompt_tokens = sum(c.completion.prompt_tokens for c in mine if c.completion)
            item.completion_tokens = sum(
                c.completion.completion_tokens for c in mine if c.completion
            )
        events.append(step_event(who, seq, steps, item, attempt, secrets, blobs, inline_bytes))
        steps += 1
    return events
