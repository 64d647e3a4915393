"""The audit as text for a terminal: trees with their branches drawn, one line per node."""

from __future__ import annotations

from collections.abc import Callable

from hivebus.audit.blobs import digest_of, is_ref
from hivebus.audit.records import ATTEMPT, DECISION, LLM, STEP, AuditEvent
from hivebus.audit.tree import EVENT, Node

Blob = Callable[[str], str | None]  # sha256 -> the stored content, when the store has it
WIDTH = 72


def tree_lines(roots: list[Node], blob: Blob = lambda _: None) -> list[str]:
    """The tree drawn with `├─`, `└─` and `│`, depth by depth."""
    lines: list[str] = []

    def draw(node: Node, prefix: str, last: bool, top: bool, seen: set[int]) -> None:
        if id(node) in seen:
            return
        seen.add(id(node))
        branch = "" if top else ("└─ " if last else "├─ ")
        lines.append(prefix + branch + label(node, blob))
        inner = prefix if top else prefix + ("   " if last else "│  ")
        for i, child in enumerate(node.children):
            draw(child, inner, i == len(node.children) - 1, False, seen)

    seen: set[int] = set()
    for root in roots:
        draw(root, "", True, True, seen)
    return lines


def label(node: Node, blob: Blob = lambda _: None) -> str:
    if node.kind == EVENT:
        where = f"{node.topic or '?'}{node.where or ''}"
        return f"event {_short(node.type or '?')} on {where}  ({node.id})"
    event = node.audit
    assert event is not None
    if node.kind == DECISION:
        return decision_label(event)
    if node.kind == STEP:
        return step_label(event)
    if node.kind == LLM:
        return llm_label(event, blob)
    if node.kind == ATTEMPT:
        return attempt_label(event)
    return node.id


def decision_label(event: AuditEvent) -> str:
    run = f"  run {event.run_id}" if event.run_id else ""
    tries = f", {event.attempt} attempts" if event.attempt > 1 else ""
    text = f"{event.agent} {event.agent_version}: {event.outcome} in {_ms(event.duration_ms)}"
    error = f"  {event.error.type}: {_cut(event.error.message, 60)}" if event.error else ""
    return f"decision {text}{tries}{run}{error}"


def step_label(event: AuditEvent) -> str:
    step = event.step
    assert step is not None
    where = f"#{step.position + 1}" if step.durable else ""
    head = f"step {step.name}{where}: {event.outcome} in {_ms(event.duration_ms)}"
    if event.error is not None:
        return f"{head}  {event.error.type}: {_cut(event.error.message, 50)}"
    result = step.result if step.result is not None else step.result_ref
    return f"{head}  -> {_cut(result, 60)}" if result else head


def attempt_label(event: AuditEvent) -> str:
    error = f"  {event.error.type}: {_cut(event.error.message, 60)}" if event.error else ""
    return f"attempt {event.attempt} failed, retried{error}"


def llm_label(event: AuditEvent, blob: Blob = lambda _: None) -> str:
    call = event.llm
    assert call is not None
    cost = f", cost {call.cost:.6f}" if call.cost is not None else ""
    head = (
        f"llm {call.model}: {call.prompt_tokens}+{call.completion_tokens} tokens in "
        f"{_ms(call.latency_ms)}{cost}"
    )
    if event.error is not None:
        return f"{head}  {event.error.type}: {_cut(event.error.message, 50)}"
    ref = call.response_ref
    reply = blob(digest_of(ref)) if ref is not None and is_ref(ref) else None
    return f"{head}  {_cut(reply, 60)!r}" if reply else head


def timeline_lines(events: list[AuditEvent]) -> list[str]:
    """One line per event of a run or correlation, in time order."""
    if not events:
        return []
    start = events[0].at_ms
    lines = []
    for event in events:
        if event.kind == DECISION:
            text = decision_label(event)
        elif event.kind == STEP:
            text = step_label(event)
        elif event.kind == ATTEMPT:
            text = attempt_label(event)
        else:
            text = llm_label(event)
        lines.append(f"+{event.at_ms - start:>7} ms  {event.agent:<20} {text}")
    return lines


def _short(type_name: str) -> str:
    return type_name.rsplit(".", 1)[-1]


def _ms(value: float) -> str:
    return f"{value:.1f} ms" if value < 1000 else f"{value / 1000:.2f} s"


def _cut(text: str | None, width: int = WIDTH) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"
