"""A worker type: a plain agent, its own consumer group, that does the tasks of its kinds.

Its tasks run unordered (those of one correlation share a key, and should run side by side).
Replicas of one worker type share its group, so tasks are spread over them and a task whose
worker dies is redelivered to another (at least once: the task's id lets a tool deduplicate).
A task fails for good only after the agent's `retry` attempts; then its `WorkResult` says
so, so the orchestrator's join learns at once instead of waiting for its deadline.
"""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from hivebus.errors import ConfigError
from hivebus.kafka.admin import TopicSpec
from hivebus.patterns.workers.records import WorkItem, WorkResult
from hivebus.runtime import Agent, Context, Ordering
from hivebus.runtime.attempts import attempt

TaskFn = Callable[[Any, Context], Awaitable[Any]]  # (the task's arguments, ctx) -> JSON-able


def worker_agent(
    name: str, tasks: str, results: str, handles: Mapping[str, TaskFn],
    specs: list[TopicSpec], options: dict[str, Any],
) -> Agent:  # fmt: skip
    if not handles:
        raise ConfigError(f"worker {name!r} handles no kind: give handles={{'kind': fn}}")
    for kind, fn in handles.items():
        if not inspect.iscoroutinefunction(fn):
            raise ConfigError(f"handles[{kind!r}] of worker {name!r} must be an `async def` "
                              "taking (arguments, ctx)")  # fmt: skip
    # Tasks of one correlation share a key, and should run side by side: unordered.
    options.setdefault("ordering", Ordering.UNORDERED)
    agent = Agent(name, topics=[*options.pop("topics", []), *specs], **options)
    retry = agent.retry

    @agent.on(tasks, WorkItem, output=results)
    async def work(item: WorkItem, ctx: Context) -> WorkResult | None:
        fn = handles.get(item.kind)
        if fn is None:  # another worker type's task
            return None
        begun = time.perf_counter()
        done = {"id": item.id, "correlation_id": item.correlation_id, "kind": item.kind,
                "worker": name}  # fmt: skip
        try:
            output, tries = await attempt(fn, (item.arguments(), ctx), retry)
            text = json.dumps(output)
        except Exception as error:  # after the retries: say so, the join should not wait
            return WorkResult(**done, ok=False, error=f"{type(error).__name__}: {error}"[:2000],
                              attempts=retry.attempts,
                              duration_ms=1000 * (time.perf_counter() - begun))  # fmt: skip
        return WorkResult(**done, ok=True, output=text, attempts=tries,
                          duration_ms=1000 * (time.perf_counter() - begun))  # fmt: skip

    return agent
