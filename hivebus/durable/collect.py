"""One request that many answer: an opportunity to bidders, a question to every worker type.

`ctx.collect(callee, request, count=N, until=..., timeout_s=T)` sends the request once (a
step, as a call's), then takes the replies in the order they came until N have, or `until`
(a pure function of the replies so far) says enough, or the deadline passes. Every reply is
kept in the journal as it comes (one signal each, see calls.py), and the outcome step records
the ones taken, so a replay returns the same list. Replies that come after the outcome are
ignored by the run; they stay on their topic, as every event does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hivebus.contracts import Record
from hivebus.durable import codec
from hivebus.durable.calls import Callee, replies_to
from hivebus.durable.run import Suspended
from hivebus.durable.waiting import (
    Journaled,
    deadline_after,
    encoded,
    passed,
    requests_of,
    same,
    unreachable,
)
from hivebus.errors import ConfigError

DEADLINE, OUTCOME = "hivebus:collect", "hivebus:collected"


async def collect(
    ctx: Journaled,
    callee: Callee,
    request: Record,
    *,
    key: str | bytes | None = None,
    count: int | None = None,
    until: Callable[[list[Any]], bool] | None = None,
    timeout_s: float | None = None,
) -> list[Any]:
    if count is None and until is None and timeout_s is None:
        raise ConfigError("collect needs count=, until= or timeout_s=: when else would it end?")
    if count is not None and count < 1:
        raise ConfigError(f"collect(count={count}) needs count >= 1")
    run = ctx._run
    requests_of(run).check(callee)
    base = run.position
    run.position = base + 3
    if run.recorded(base + 2) is not None:  # ended in an earlier execution: the same replies
        taken = await ctx._step_at(base + 2, OUTCOME, unreachable)
        return [codec.decode(kind, text.encode(), callee.returns) for kind, text in taken]
    key = ctx.message.key() if key is None else key
    name, started = f"hivebus:call:{callee.topic}", run.journal.input_headers
    await ctx._step_at(base, name, requests_of(run).send, run.id, started, base, callee, request,
                       key)  # fmt: skip
    deadline = await ctx._step_at(base + 1, DEADLINE, deadline_after, timeout_s)
    came = replies_to(run.journal.signals, base)
    replies = [await requests_of(run).reply(run.journal.signals[n], callee) for n in came]
    if count is not None:
        replies = replies[:count]
    enough = (count is not None and len(replies) >= count) or (until is not None and until(replies))
    if not enough and not passed(deadline):
        wanted = f"{count - len(replies)} more" if count is not None else "replies"
        waiting = f"{wanted} from {callee.reply_topic} ({len(replies)} in)"
        raise Suspended(deadline, waiting_for=f"{waiting}@{base + 2}")
    for signal in came:
        del run.journal.signals[signal]
    await ctx._step_at(base + 2, OUTCOME, same, [encoded(reply) for reply in replies])
    return replies
