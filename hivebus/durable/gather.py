"""Calls and branches gathered: all are started at once, then the run waits for all of
them, the first N, or a deadline, and goes on with what came (the rest is marked missing).

Positions are fixed by the gather, not by timing: item i of a gather that starts at position
b is at b+i, then come the deadline (b+n) and the outcome (b+n+1), which records which items
counted and the replies that came. So a replay takes the same items whatever order they
finished in, and an item that did not count is not run again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hivebus.contracts import Record
from hivebus.durable import codec
from hivebus.durable.calls import Callee, replies_to
from hivebus.durable.errors import CallTimedOut, StepFailed
from hivebus.durable.run import Suspended
from hivebus.durable.waiting import (
    Journaled,
    deadline_after,
    encoded,
    passed,
    requests_of,
    same,
    time_left,
    unreachable,
)
from hivebus.errors import ConfigError
from hivebus.runtime import Retry

if TYPE_CHECKING:
    from hivebus.durable.run import Run

DEADLINE, OUTCOME = "hivebus:gather", "hivebus:gathered"


class Call:
    """One request/reply, made by `ctx.call`: `await` it for the reply (or `CallTimedOut`),
    or hand it with others to `ctx.gather`."""

    __slots__ = ("callee", "ctx", "key", "request", "timeout_s")

    def __init__(
        self,
        ctx: Journaled,
        callee: Callee,
        request: Record,
        key: str | bytes | None,
        timeout_s: float | None,
    ) -> None:
        self.ctx, self.callee, self.request = ctx, callee, request
        self.key, self.timeout_s = key, timeout_s

    def __await__(self) -> Generator[Any, None, Any]:
        return self._reply().__await__()

    async def _reply(self) -> Any:
        gathered = await gather(self.ctx, [self], timeout_s=self.timeout_s)
        if gathered.done:
            return gathered.results[0]
        raise CallTimedOut(
            f"no reply on {self.callee.reply_topic!r} to the call to {self.callee.topic!r} "
            f"within {self.timeout_s} s"
        )


@dataclass(frozen=True)
class Branch:
    """A step that runs alongside the other items of a gather (made by `ctx.branch`)."""

    name: str
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    retry: Retry | None = None
    returns: type[Any] | None = None


Item = Call | Branch


@dataclass
class Gathered:
    """What a gather got, item by item: `results[i]` is None unless i is in `done`."""

    results: list[Any]
    done: list[int] = field(default_factory=list)
    errors: dict[int, StepFailed] = field(default_factory=dict)
    missing: list[int] = field(default_factory=list)  # not finished when the gather ended

    @property
    def complete(self) -> bool:
        return not self.errors and not self.missing

    def value(self, index: int) -> Any:
        """Item `index`'s result; raises its `StepFailed`, or `LookupError` if missing."""
        if index in self.errors:
            raise self.errors[index]
        if index not in self.done:
            raise LookupError(f"item {index} of the gather did not finish before it ended")
        return self.results[index]


async def gather(
    ctx: Journaled,
    items: Sequence[Item],
    *,
    first: int | None = None,
    timeout_s: float | None = None,
) -> Gathered:
    n = len(items)
    if n == 0:
        return Gathered([])
    need = n if first is None else first
    if not 1 <= need <= n:
        raise ConfigError(f"gather(first={first}) needs 1 <= first <= {n} (the items given)")
    run = ctx._run
    for item in items:
        if not isinstance(item, Call | Branch):
            raise ConfigError(
                f"gather takes ctx.call(...) and ctx.branch(...) items, got {type(item).__name__}"
            )
        if isinstance(item, Call):
            requests_of(run).check(item.callee)
    base = run.position
    run.position = base + n + 2
    outcome = run.recorded(base + n + 1)
    if outcome is not None:  # it ended in an earlier execution: the same items count
        return await _replay(ctx, items, base)
    for i, item in enumerate(items):
        if isinstance(item, Call):
            key = ctx.message.key() if item.key is None else item.key
            name, started = f"hivebus:call:{item.callee.topic}", run.journal.input_headers
            await ctx._step_at(base + i, name, requests_of(run).send, run.id, started, base + i,
                               item.callee, item.request, key)  # fmt: skip
    tasks = {
        i: await _branch(ctx, base + i, item) for i, item in enumerate(items)
        if isinstance(item, Branch)
    }  # fmt: skip
    try:
        deadline = await ctx._step_at(base + n, DEADLINE, deadline_after, timeout_s)
        gathered = await _wait(run, items, base, tasks, need, deadline)
    finally:
        for task in tasks.values():
            task.cancel()
    replies = {
        str(i): list(encoded(gathered.results[i]))
        for i in gathered.done
        if isinstance(items[i], Call)
    }
    for i in range(n):
        for name in replies_to(run.journal.signals, base + i):
            del run.journal.signals[name]
    summary = {"done": gathered.done, "failed": sorted(gathered.errors), "replies": replies}
    await ctx._step_at(base + n + 1, OUTCOME, same, summary)
    return gathered


async def _branch(ctx: Journaled, position: int, item: Branch) -> asyncio.Future[Any]:
    """A branch at work (a task), or, when its step is recorded, its replayed result: at
    once, so a gather past its deadline still counts the branches that had finished."""
    work = ctx._step_at(position, item.name, item.fn, *item.args, retry=item.retry,
                        returns=item.returns)  # fmt: skip
    if ctx._run.recorded(position) is None:
        return asyncio.ensure_future(work)
    replayed: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    try:
        replayed.set_result(await work)
    except StepFailed as error:
        replayed.set_exception(error)
    return replayed


async def _wait(
    run: Run,
    items: Sequence[Item],
    base: int,
    tasks: Mapping[int, asyncio.Future[Any]],
    need: int,
    deadline: str | None,
) -> Gathered:
    n = len(items)
    gathered = Gathered([None] * n)
    while True:
        for i, item in enumerate(items):
            if i in gathered.done or i in gathered.errors:
                continue
            if isinstance(item, Call):
                came = replies_to(run.journal.signals, base + i)
                if came:  # the first that came (a request many answer: see collect.py)
                    payload = run.journal.signals[came[0]]
                    gathered.results[i] = await requests_of(run).reply(payload, item.callee)
                    gathered.done.append(i)
            elif tasks[i].done():
                error = tasks[i].exception()
                if isinstance(error, StepFailed):
                    gathered.errors[i] = error
                elif error is not None:
                    raise error  # not the step's own failure: a journal problem, say
                else:
                    gathered.results[i] = tasks[i].result()
                    gathered.done.append(i)
        settled = len(gathered.done) + len(gathered.errors)
        late = passed(deadline)
        if len(gathered.done) >= need or settled == n or late:
            gathered.done.sort()
            ended = {*gathered.done, *gathered.errors}
            gathered.missing = [i for i in range(n) if i not in ended]
            return gathered
        running = [task for task in tasks.values() if not task.done()]
        if running:  # branches still at work here: wait for one, or the deadline
            await asyncio.wait(running, timeout=time_left(deadline), return_when="FIRST_COMPLETED")
            continue
        calls = [i for i, it in enumerate(items) if isinstance(it, Call) and i not in gathered.done]
        more = f"{len(calls)} more {'reply' if len(calls) == 1 else 'replies'}"
        waiting = f"{more} ({len(gathered.done)} of {need} in)"
        if n == 1:
            waiting = f"a reply from {items[0].callee.topic}"  # type: ignore[union-attr]
        raise Suspended(deadline, waiting_for=f"{waiting}@{base + n + 1}")


async def _replay(ctx: Journaled, items: Sequence[Item], base: int) -> Gathered:
    n = len(items)
    summary = await ctx._step_at(base + n + 1, OUTCOME, unreachable)
    gathered = Gathered([None] * n, done=list(summary["done"]))
    failed = set(summary["failed"])
    for i, item in enumerate(items):
        if isinstance(item, Call) and i in gathered.done:
            kind, text = summary["replies"][str(i)]
            gathered.results[i] = codec.decode(kind, text.encode(), item.callee.returns)
        elif isinstance(item, Branch) and (i in gathered.done or i in failed):
            try:
                gathered.results[i] = await ctx._step_at(
                    base + i, item.name, unreachable, returns=item.returns
                )
            except StepFailed as error:
                gathered.errors[i] = error
    gathered.missing = [i for i in range(n) if i not in gathered.done and i not in failed]
    return gathered
