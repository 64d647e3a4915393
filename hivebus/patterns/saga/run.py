"""One saga, as a durable run plays it: the actions in order, then, on a failure, the
compensations of the finished steps in reverse order.

Everything that decides the path is journaled: each action's result or failure, each call's
reply or timeout, the chooser's answer, each compensation's outcome. A coordinator killed
anywhere (mid-compensation too) replays to the same point and goes on from the first
unrecorded step; a compensation that returned never runs again. A compensation that fails
for good does not stop the others: the outcome says `compensation_failed` and names it, and
the coordinator logs it as an error.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from hivebus.durable import DurableContext, StepFailed
from hivebus.patterns.saga.chooser import Choice, Chooser
from hivebus.patterns.saga.perform import ActionFailed, perform
from hivebus.patterns.saga.plan import (
    DECLARED,
    FALLBACK,
    Plan,
    declared,
    needs_choice,
    settle,
    to_undo,
)
from hivebus.patterns.saga.records import (
    COMPENSATED,
    COMPENSATION_FAILED,
    COMPLETED,
    SagaFailure,
    SagaOutcome,
)
from hivebus.patterns.saga.steps import SagaState, Step
from hivebus.runtime import Retry

CHOOSE = "saga:choose"


def action_step(step: str) -> str:
    return f"saga:{step}"


def compensation_step(step: str, option: str) -> str:
    return f"saga:{step}:undo:{option}"


@dataclass(frozen=True)
class SagaRun:
    """How a saga's runs go: its steps, its chooser, and the retry of compensations."""

    saga: str
    steps: Sequence[Step]
    chooser: Chooser | None
    compensation_retry: Retry
    chooser_retry: Retry

    async def __call__(self, ctx: DurableContext, input: Any, saga_id: str) -> SagaOutcome:
        results: dict[str, Any] = {}
        for step in self.steps:
            state = SagaState(saga_id, input, dict(results), step.name)
            try:
                results[step.name] = await perform(ctx, step.action, state,
                                                   action_step(step.name), None)  # fmt: skip
            except ActionFailed as failed:
                return await self._compensate(ctx, input, saga_id, results, step, failed)
        return SagaOutcome(saga_id=saga_id, saga=self.saga, status=COMPLETED,
                           finished=list(results))  # fmt: skip

    async def _compensate(
        self,
        ctx: DurableContext,
        input: Any,
        saga_id: str,
        results: dict[str, Any],
        failed_step: Step,
        failed: ActionFailed,
    ) -> SagaOutcome:
        finished = list(results)
        undo = to_undo(self.steps, [*finished, *([failed_step.name] if failed.in_doubt else [])])
        failure = SagaFailure(
            saga_id=saga_id, saga=self.saga, failed_step=failed_step.name, failure=failed.reason,
            in_doubt=failed.in_doubt, finished=finished,
            options={step.name: list(step.options()) for step in undo}, input=_json(input),
        )  # fmt: skip
        undoing = [s.name for s in undo] or "nothing"
        ctx.log.warning("saga %s %s: step %s failed (%s); undoing %s", self.saga, saga_id,
                        failed_step.name, failed.reason, undoing)  # fmt: skip
        plan = await self._choose(ctx, undo, failure)
        compensated: list[str] = []
        failures: list[str] = []
        for step in undo:
            option = plan.options[step.name]
            state = SagaState(saga_id, input, dict(results), step.name)
            name = compensation_step(step.name, option)
            try:
                await perform(ctx, step.options()[option], state, name, self.compensation_retry)
            except ActionFailed as undo_failed:
                failures.append(f"{step.name}: {undo_failed.reason}")
                why = undo_failed.reason
                ctx.log.error("saga %s %s: compensation %s of step %s failed for good: %s",
                              self.saga, saga_id, option, step.name, why)  # fmt: skip
            else:
                compensated.append(step.name)
        return SagaOutcome(
            saga_id=saga_id, saga=self.saga,
            status=COMPENSATION_FAILED if failures else COMPENSATED, finished=finished,
            failed_step=failed_step.name, failure=failed.reason, in_doubt=failed.in_doubt,
            plan=plan.options, chosen_by=plan.chosen_by, choice_note=plan.note,
            compensated=compensated, compensation_failures=failures,
        )  # fmt: skip

    async def _choose(self, ctx: DurableContext, undo: list[Step], failure: SagaFailure) -> Plan:
        """The chooser's plan, as a journaled step, when there is a choice to make; the
        declared options otherwise, or when the chooser fails for good."""
        if self.chooser is None or not needs_choice(undo):
            return Plan(declared(undo), DECLARED)
        chooser = self.chooser

        async def choose() -> dict[str, Any]:
            choice = await chooser(failure, ctx)
            return Choice.model_validate(choice).model_dump()

        try:
            answer: dict[str, Any] = await ctx.step(CHOOSE, choose, retry=self.chooser_retry)
        except StepFailed as error:
            return Plan(declared(undo), FALLBACK, f"the chooser failed: {error.message}")
        return settle(undo, answer.get("plan") or {}, str(answer.get("reason") or ""))


def _json(value: Any) -> str:
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    return json.dumps(value, default=str)
