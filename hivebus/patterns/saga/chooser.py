"""The AI part of a saga: a chooser that picks each step's compensation from the failure.

A chooser is any `async (failure, ctx) -> Choice`. The saga runs it as one journaled step,
so its answer (an LLM's, say) is paid for once and replayed the same after a crash, and
validates the answer against the options declared (see plan.py): a chooser can pick among
the compensations a step allows, never invent one or skip a step.

`LLMChooser` asks `ctx.llm` for JSON whose schema lists, for each step to undo, only the
options that step allows (`Literal`), so a schema-constrained model (and the offline
provider) can only answer with an allowed plan.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from hivebus.patterns.saga.records import SagaFailure
from hivebus.runtime import Context

INSTRUCTIONS = (
    "A saga (a business transaction of several steps) failed. Choose, for each finished "
    "step listed in `plan`, which of its allowed compensations undoes it best given the "
    "failure, and give your reason in one sentence."
)


class Choice(BaseModel):
    """A chooser's answer: the option per step (step name -> option name) and why."""

    plan: dict[str, str]
    reason: str = ""


Chooser = Callable[[SagaFailure, Context], Awaitable[Choice]]


def choice_schema(options: Mapping[str, Sequence[str]]) -> type[BaseModel]:
    """A JSON schema for the LLM: `plan` has one field per step, whose only values are the
    options it allows, and `reason` a sentence."""
    fields: dict[str, Any] = {
        step: (Literal.__getitem__(tuple(allowed)), Field(description=f"how to undo {step}"))
        for step, allowed in options.items()
    }
    plan = create_model("CompensationPlan", **fields)
    return create_model(
        "CompensationChoice",
        plan=(plan, Field(description="for each step, its compensation")),
        reason=(str, Field(max_length=400, description="why, in one sentence")),
    )


def prompt(instructions: str, failure: SagaFailure) -> str:
    lines = [instructions, "", f"Saga: {failure.saga} (id {failure.saga_id})",
             f"Failed step: {failure.failed_step}", f"Failure: {failure.failure}"]  # fmt: skip
    if failure.in_doubt:
        lines.append("The failed step timed out: it may still happen, so it is undone too.")
    lines.append(f"Finished steps, in order: {', '.join(failure.finished) or '(none)'}")
    if failure.input:
        lines.append(f"Input: {failure.input}")
    lines.append("Allowed compensations:")
    lines += [f"- {step}: {' | '.join(allowed)}" for step, allowed in failure.options.items()]
    return "\n".join(lines)


@dataclass(frozen=True)
class LLMChooser:
    """Chooses with `ctx.llm.complete_json` (offline without an API key: a deterministic,
    schema-valid answer). `instructions` say what the business prefers."""

    instructions: str = INSTRUCTIONS
    system: str | None = None
    model: str | None = None

    async def __call__(self, failure: SagaFailure, ctx: Context) -> Choice:
        choosing = {step: allowed for step, allowed in failure.options.items() if len(allowed) > 1}
        answer = await ctx.llm.complete_json(
            prompt(self.instructions, failure.model_copy(update={"options": choosing})),
            schema=choice_schema(choosing), system=self.system, model=self.model,
        )  # fmt: skip
        data = answer.model_dump()
        return Choice(plan={k: str(v) for k, v in data["plan"].items()}, reason=data["reason"])
