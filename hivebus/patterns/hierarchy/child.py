"""A child run: the team's pooled durable agent runs one child per `ChildTask`.

A child that starts after its parent stopped waiting is an orphan: it answers `orphaned`
without doing the work (its parent will not read it). A child's failure, a bound it hit
included, is answered as `failed` with the error, so its parent learns at once.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from hivebus.durable import DeterminismError, DurableContext
from hivebus.patterns.hierarchy.records import FAILED, OK, ORPHANED, ChildResult, ChildTask

ChildFn = Callable[[ChildTask, DurableContext], Awaitable[Any]]  # -> a JSON-able result


def child_handler(fn: ChildFn) -> Callable[[ChildTask, DurableContext], Awaitable[ChildResult]]:
    async def run_child(task: ChildTask, ctx: DurableContext) -> ChildResult:
        if task.deadline is not None and await ctx.now() > datetime.fromisoformat(task.deadline):
            return _answer(task, ORPHANED, error=f"its parent stopped waiting at {task.deadline}")
        try:
            output = await fn(task, ctx)
            text = json.dumps(output)
        except DeterminismError:
            raise  # the run is parked, as any durable run's
        except Exception as error:
            return _answer(task, FAILED, error=f"{type(error).__name__}: {error}"[:2000])
        return _answer(task, OK, output=text)

    run_child.__name__ = getattr(fn, "__name__", "child")
    return run_child


def _answer(task: ChildTask, outcome: str, *, output: str = "null", error: str = "") -> ChildResult:
    return ChildResult(parent_run=task.parent_run, index=task.index, depth=task.depth,
                       outcome=outcome, output=output, error=error)  # fmt: skip
