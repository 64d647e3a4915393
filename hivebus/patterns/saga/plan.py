"""The pure part of compensating: which steps to undo, in what order, with which option.

Only the steps whose action finished are undone (and a call that timed out, which may have
happened), last first, so each compensation sees the world as its step left it. A chooser's
answer is used only where it names an option the step declares; elsewhere the declared
(first) option stands, and the outcome says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from hivebus.patterns.saga.steps import Step

DECLARED, CHOOSER, FALLBACK = "declared", "chooser", "fallback"


def to_undo(steps: Sequence[Step], done: Sequence[str]) -> list[Step]:
    """The steps named in `done` that have a compensation, in reverse declaration order."""
    finished = set(done)
    return [step for step in reversed(steps) if step.name in finished and step.options()]


def declared(undo: Sequence[Step]) -> dict[str, str]:
    """Each step's first (declared) compensation option."""
    return {step.name: next(iter(step.options())) for step in undo}


@dataclass(frozen=True)
class Plan:
    """The compensation option of each step to undo, who chose it, and why."""

    options: dict[str, str]
    chosen_by: str
    note: str = ""


def settle(undo: Sequence[Step], answer: Mapping[str, object], reason: str = "") -> Plan:
    """The plan from a chooser's `answer` (step -> option) for the steps with a choice: an
    option the step does not declare, or a missing step, is set aside for the declared
    option; so is a name that is no step to undo. Steps with one option keep it."""
    plan = declared(undo)
    set_aside: list[str] = []
    for step in (step for step in undo if len(step.options()) > 1):
        picked = answer.get(step.name)
        if isinstance(picked, str) and picked in step.options():
            plan[step.name] = picked
        else:
            allowed = "/".join(step.options())
            set_aside.append(f"{step.name}: {picked!r} is not one of {allowed}")
    extra = sorted(str(name) for name in answer if name not in plan)
    set_aside += [f"{name}: not a step to undo" for name in extra]
    if set_aside:
        return Plan(plan, FALLBACK, "; ".join(set_aside))
    return Plan(plan, CHOOSER, reason)


def needs_choice(undo: Sequence[Step]) -> bool:
    """Whether any step to undo has more than one compensation to choose from."""
    return any(len(step.options()) > 1 for step in undo)
