"""Hierarchical agents: a parent run spawns ephemeral children per event, and children may
spawn their own, within bounds.

A child is not a consumer group: it is one durable run of the team's pooled child agent
(`<team>.child`), so a thousand children need no new group, topic or process. Its result is
journaled in the parent (a spawn is a gather of calls), and children the parent stopped
waiting for are cancelled as orphans; so are those still running when the parent run ends
(the team's callee names its child agent: see hivebus/durable/children.py). See
docs/patterns/hierarchical.md.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from hivebus.durable import Callee, DurableContext
from hivebus.durable.calls import call_id
from hivebus.durable.control import cancel_all
from hivebus.errors import ConfigError
from hivebus.kafka.admin import TopicSpec
from hivebus.patterns.hierarchy.child import ChildFn, child_handler
from hivebus.patterns.hierarchy.limits import HierarchyLimit, check_spawn
from hivebus.patterns.hierarchy.records import ChildResult, ChildTask
from hivebus.patterns.hierarchy.spawned import Spawned
from hivebus.runtime import Agent

__all__ = ["ChildResult", "ChildTask", "HierarchyLimit", "Spawned", "Team"]


class Team:
    """A pool that runs the children of one kind of work: declare what a child does with
    `@team.child`, run `team.children` (a durable agent) with as many replicas as the load
    needs, and give `team.calls` to every agent that spawns (the children get it already).

    `max_depth` bounds nesting (a top-level run's children are depth 1); `max_children`
    bounds one spawn."""

    def __init__(
        self,
        name: str,
        *,
        max_depth: int = 3,
        max_children: int = 16,
        partitions: int = 6,
        max_in_flight: int = 64,
    ) -> None:
        for field, value in (("max_depth", max_depth), ("max_children", max_children),
                             ("partitions", partitions)):  # fmt: skip
            if value < 1:
                raise ConfigError(f"Team.{field} must be at least 1, got {value}")
        self.name, self.max_depth, self.max_children = name, max_depth, max_children
        self.tasks_topic, self.results_topic = f"{name}.spawned", f"{name}.child-results"
        self.callee = Callee(  # `agent`: a parent that ends first cancels its children
            self.tasks_topic, reply_topic=self.results_topic, returns=ChildResult,
            agent=f"{name}.child",
        )  # fmt: skip
        specs = [
            TopicSpec(t, partitions=partitions) for t in (self.tasks_topic, self.results_topic)
        ]
        self.children = Agent(f"{name}.child", durable=True, calls=[self.callee], topics=specs,
                              max_in_flight=max_in_flight,
                              description=f"Runs the children of team {name!r}")  # fmt: skip

    @property
    def calls(self) -> list[Callee]:
        return [self.callee]

    def child(self, fn: ChildFn) -> ChildFn:
        """Declare what a child does: `async def fn(task: ChildTask, ctx: DurableContext)`,
        returning something JSON-able. Its steps are journaled like any durable run's."""
        if self.children.handlers:
            raise ConfigError(f"team {self.name!r} has a child function already")
        self.children.on(self.tasks_topic, ChildTask, output=self.results_topic)(child_handler(fn))
        return fn

    async def spawn(
        self,
        ctx: DurableContext,
        inputs: Sequence[Any],
        *,
        parent: ChildTask | None = None,
        role: str = "",
        first: int | None = None,
        timeout_s: float | None = None,
    ) -> Spawned:
        """Spawn one child per input (JSON-able) and wait for all, the `first` N, or
        `timeout_s` (a child's own spawns never outlive its deadline); children still
        running then are cancelled. From inside a child, pass `parent=` its task."""
        depth = parent.depth + 1 if parent is not None else 1
        check_spawn(self.name, ctx.run_id, depth, len(inputs), self.max_depth, self.max_children)
        now = await ctx.now()
        deadline = now + timedelta(seconds=timeout_s) if timeout_s is not None else None
        if parent is not None and parent.deadline is not None:
            theirs = datetime.fromisoformat(parent.deadline)
            deadline = theirs if deadline is None else min(deadline, theirs)
        base = ctx.position
        calls = [
            ctx.call(self.callee, ChildTask(
                parent_agent=ctx.agent, parent_run=ctx.run_id, index=i, depth=depth, role=role,
                input=json.dumps(value), deadline=deadline.isoformat() if deadline else None,
            ), key=ctx.run_id)
            for i, value in enumerate(inputs)
        ]  # fmt: skip
        wait = max((deadline - now).total_seconds(), 0.001) if deadline is not None else None
        gathered = await ctx.gather(*calls, first=first, timeout_s=wait)
        results = [gathered.results[i] if i in gathered.done else None for i in range(len(calls))]
        orphans = [call_id(ctx.agent, ctx.run_id, base + i)
                   for i, r in enumerate(results) if r is None]  # fmt: skip
        if orphans:
            orphans = await ctx.step("hivebus:cancel-orphans", _cancel, self.children.name, orphans)
        return Spawned(results, orphans)


async def _cancel(agent: str, run_ids: list[str]) -> list[str]:
    await cancel_all(agent, run_ids, source=agent)
    return run_ids
