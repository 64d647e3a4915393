"""Running one action or compensation inside the coordinator's durable run.

A `Local` is one `ctx.step`: its result, or its failure after its retries, is journaled, so
a replay returns it (or raises `StepFailed` again) without running it. A `Remote` is one
`ctx.call` per attempt: the request is sent once per attempt, whatever the restarts, and
its reply (or its timeout) is journaled. Either way a replay takes the same path.
"""

from __future__ import annotations

from typing import Any

from hivebus.durable import CallTimedOut, DurableContext, StepFailed
from hivebus.patterns.saga.steps import Action, Local, SagaState
from hivebus.runtime import Retry

ONCE = Retry(attempts=1)


class ActionFailed(Exception):
    """An action or compensation that failed for good; `in_doubt` when the last attempt
    was a call with no reply in time (the callee may still act on it)."""

    def __init__(self, reason: str, *, in_doubt: bool = False) -> None:
        super().__init__(reason)
        self.reason, self.in_doubt = reason, in_doubt


async def perform(
    ctx: DurableContext, action: Action, state: SagaState[Any], name: str, retry: Retry | None
) -> Any:
    """Run `action` for `state.step` as the journaled step `name`; its retry is its own, or
    `retry`. Returns its result (a call's reply), or raises `ActionFailed`."""
    if isinstance(action, Local):
        try:
            return await ctx.step(
                name, action.fn, state, retry=action.retry or retry, returns=action.returns
            )
        except StepFailed as failed:
            raise ActionFailed(f"{failed.error_type}: {failed.message}") from None
    attempts = (action.retry or retry or ONCE).attempts
    reason, in_doubt = "", False
    for attempt in range(1, attempts + 1):
        request = action.request(state)
        try:
            reply = await ctx.call(action.callee, request, key=state.saga_id,
                                   timeout_s=action.timeout_s)  # fmt: skip
        except CallTimedOut as timed_out:
            reason, in_doubt = str(timed_out), True
        else:
            why = action.failed(reply) if action.failed is not None else None
            if why is None:
                return reply
            reason, in_doubt = why, False
        if attempt < attempts:
            await ctx.sleep((action.retry or retry or ONCE).delay(attempt))
    raise ActionFailed(reason, in_doubt=in_doubt)
