"""Orchestrator-Worker: a durable orchestrator hands tasks to pools of workers and joins
their results, all of them, the first N, or what came by a deadline.

```
orchestrator run ──WorkItem (kind=search)──▶ <pool>.tasks ──▶ searcher group (replicas)
                 ──WorkItem (kind=scrape)──▶              ──▶ scraper group
                 ◀──────── WorkResult ─────── <pool>.results ◀── each worker
```

Both topics are keyed by the correlation id. Each worker type is its own consumer group and
does only its kinds, so a new worker type joins by subscribing: nothing else changes. The
orchestrator sends each task once (a journaled call) and waits holding nothing; a result
that comes after its join ended stays on `<pool>.results`, keyed by its correlation, and
the orchestrator's output can name what was missing. See docs/patterns/orchestrator.md.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from hivebus.durable import Callee, DurableContext
from hivebus.durable.gather import Call
from hivebus.errors import ConfigError
from hivebus.kafka.admin import TopicSpec
from hivebus.patterns.workers.joined import Joined
from hivebus.patterns.workers.records import WorkItem, WorkResult
from hivebus.patterns.workers.worker import TaskFn, worker_agent
from hivebus.runtime import Agent

__all__ = ["Joined", "WorkItem", "WorkResult", "Workers"]


class Workers:
    """A pool of worker types on `<name>.tasks` and `<name>.results`.

    Give `workers.calls` to the orchestrator's `Agent(durable=True, calls=...)`; in its
    runs, `workers.task(ctx, kind, arguments)` makes a task and `await workers.join(ctx,
    tasks, first=, timeout_s=)` sends them all at once and waits.
    """

    def __init__(self, name: str, *, partitions: int = 6) -> None:
        if partitions < 1:
            raise ConfigError(f"Workers.partitions must be at least 1, got {partitions}")
        self.name, self.partitions = name, partitions
        self.tasks_topic, self.results_topic = f"{name}.tasks", f"{name}.results"
        self.callee = Callee(self.tasks_topic, reply_topic=self.results_topic, returns=WorkResult)

    @property
    def calls(self) -> list[Callee]:
        return [self.callee]

    def topic_specs(self) -> list[TopicSpec]:
        return [TopicSpec(t, partitions=self.partitions)
                for t in (self.tasks_topic, self.results_topic)]  # fmt: skip

    def worker(self, name: str, handles: Mapping[str, TaskFn], **agent_options: Any) -> Agent:
        """A worker type named `name` (its consumer group) doing the kinds in `handles`
        (`{"search": async fn(arguments, ctx) -> JSON-able}`); a task that raises is retried
        per the agent's `retry`, then answered as failed. `agent_options` go to `Agent`."""
        return worker_agent(name, self.tasks_topic, self.results_topic, handles,
                            self.topic_specs(), dict(agent_options))  # fmt: skip

    def task(
        self, ctx: DurableContext, kind: str, arguments: Any, *, id: str | None = None
    ) -> WorkItem:
        """A task of `kind` for this run (its id defaults to one derived from the run, the
        kind and the arguments, so a replay makes the same task)."""
        text = json.dumps(arguments, sort_keys=True)
        if id is None:
            digest = hashlib.sha1(f"{ctx.run_id}\0{kind}\0{text}".encode()).hexdigest()[:12]
            id = f"{kind}-{digest}"
        return WorkItem(id=id, correlation_id=ctx.correlation_id, kind=kind, input=text,
                        requested_by=ctx.agent)  # fmt: skip

    async def join(
        self,
        ctx: DurableContext,
        tasks: Sequence[WorkItem],
        *,
        first: int | None = None,
        timeout_s: float | None = None,
    ) -> Joined:
        """Send every task (once per run, keyed by its correlation id) and wait for all of
        their results, the `first` N (a failure is a result too), or `timeout_s`."""
        ids = [t.id for t in tasks]
        if len(set(ids)) != len(ids):
            raise ConfigError(f"join got tasks with the same id: {sorted(ids)}; give each "
                              "its own id= or arguments")  # fmt: skip
        calls: list[Call] = [ctx.call(self.callee, t, key=t.correlation_id) for t in tasks]
        gathered = await ctx.gather(*calls, first=first, timeout_s=timeout_s)
        return Joined.of(list(tasks), gathered)
