"""Hierarchical agents on the real broker and registry: children and grandchildren as runs
of one pooled agent, the depth bound answered as a clear failure, orphans cancelled when
their parent stops waiting, and an orphan that starts late doing no work."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import UTC, datetime, timedelta

from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient

from hivebus import Agent, DurableContext, Publisher
from hivebus.contracts import Serde
from hivebus.dev import Endpoints
from hivebus.durable.reader import read_journals
from hivebus.patterns import ChildResult, ChildTask, Team
from hivebus.testing.reader import read_events
from hivebus.testing.stack import unique_name
from hivebus.testing.worker import running
from tests.integration.runtime_contracts import Ping, Pong
from tests.integration.runtime_support import pings, publish, topics, until


def _parent(team: Team, source: str, output: str, inputs: list[object], **spawn: object) -> Agent:
    parent = Agent(unique_name("parent"), durable=True, calls=team.calls)

    @parent.on(source, Ping, output=output)
    async def lead(ping: Ping, ctx: DurableContext) -> Pong:
        got = await team.spawn(ctx, inputs, **spawn)  # type: ignore[arg-type]
        summary = {"results": [r.model_dump() if r else None for r in got.results],
                   "missing": got.missing, "cancelled": got.cancelled}  # fmt: skip
        return Pong(id=ping.id, key=ping.key, seq=ping.seq, handled_by=json.dumps(summary))

    return parent


async def test_children_nest_to_the_depth_bound_and_a_deeper_spawn_fails_clearly(
    stack: Endpoints, admin: AdminClient, registry: SchemaRegistryClient
) -> None:
    source, output = topics(admin, "tree")
    team = Team(unique_name("team"), max_depth=2, max_children=4, partitions=3)
    ran: dict[str, int] = {}  # run id -> depth (a run executes again after each wait)

    @team.child
    async def explore(task: ChildTask, ctx: DurableContext) -> dict[str, object]:
        ran[ctx.run_id] = task.depth
        # Every child spawns two more: depth 1 -> 2 works, depth 2 -> 3 is past the bound.
        below = await team.spawn(ctx, ["a", "b"], parent=task, timeout_s=30)
        return {"depth": task.depth, "below": below.outputs(), "failed": [
            below.results[i].error for i in below.failed if below.results[i]
        ]}  # fmt: skip

    serde = Serde(registry)
    parent = _parent(team, source, output, ["x", "y"], timeout_s=60)
    async with running([parent, team.children]):
        await publish(source, pings(1))
        got = await read_events(serde, output, Pong, 1, timeout_s=90, committed_only=True)
    summary = json.loads(got[0].event.handled_by)
    results = summary["results"]
    assert summary["missing"] == [] and [r["outcome"] for r in results] == ["ok", "ok"]
    for child in results:
        value = json.loads(child["output"])
        # Its two grandchildren ran, and each failed at its own spawn, naming the bound.
        assert value["depth"] == 1 and value["below"] == [] and len(value["failed"]) == 2
        assert all("depth 3, past max_depth=2" in error for error in value["failed"])
    assert Counter(ran.values()) == Counter({1: 2, 2: 4})  # no run at depth 3 exists
    spawned = await read_events(serde, team.tasks_topic, ChildTask, 7, timeout_s=5)
    assert Counter(r.event.depth for r in spawned) == Counter({1: 2, 2: 4})
    answers = await read_events(serde, team.results_topic, ChildResult, 6, timeout_s=10)
    deepest = [r.event for r in answers if r.event.depth == 2]
    assert len(deepest) == 4 and all(a.outcome == "failed" for a in deepest)
    assert all("depth 3, past max_depth=2" in a.error for a in deepest)
    # Grandchildren are runs of the same pooled agent: one group for the whole tree.
    journals = read_journals(serde, team.children.name)
    assert len([j for j in journals.values() if j.state == "completed"]) == 6


async def test_children_still_running_when_the_parent_stops_waiting_are_cancelled(
    stack: Endpoints, admin: AdminClient, registry: SchemaRegistryClient
) -> None:
    source, output = topics(admin, "tree")
    team = Team(unique_name("team"), partitions=3)

    @team.child
    async def work(task: ChildTask, ctx: DurableContext) -> str:
        if task.arguments() == "slow":
            await ctx.sleep(120)  # durably: the run suspends, holding nothing
        return f"did {task.arguments()}"

    serde = Serde(registry)
    parent = _parent(team, source, output, ["quick", "slow", "slow"], timeout_s=4)
    async with running([parent, team.children]):
        await publish(source, pings(1))
        got = await read_events(serde, output, Pong, 1, timeout_s=60, committed_only=True)
        summary = json.loads(got[0].event.handled_by)

        def orphans_cancelled() -> bool:
            found = read_journals(serde, team.children.name)
            return all(found.get(run) is not None and found[run].state == "cancelled"
                       for run in summary["cancelled"])  # fmt: skip

        await until(orphans_cancelled, 30, every_s=1)
    assert summary["missing"] == [1, 2] and len(summary["cancelled"]) == 2
    assert json.loads(summary["results"][0]["output"]) == "did quick"
    answers = await read_events(serde, team.results_topic, ChildResult, 2, timeout_s=5)
    assert [a.event.index for a in answers] == [0]  # the cancelled ones never answered


async def test_a_child_that_starts_after_its_parent_stopped_waiting_does_no_work(
    stack: Endpoints, registry: SchemaRegistryClient
) -> None:
    team = Team(unique_name("team"), partitions=3)
    worked: list[str] = []

    @team.child
    async def work(task: ChildTask, ctx: DurableContext) -> str:
        worked.append(task.input)
        return "done"

    past = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
    late = ChildTask(parent_agent="gone", parent_run="r1", index=0, depth=1, input='"late"',
                     deadline=past)  # fmt: skip
    serde = Serde(registry)
    async with running([team.children]):
        async with Publisher("tests") as publisher:
            await publisher.publish(team.tasks_topic, late, key="r1")
        answers = await read_events(serde, team.results_topic, ChildResult, 1, timeout_s=60)
        await asyncio.sleep(0.5)
    assert answers[0].event.outcome == "orphaned" and past in answers[0].event.error
    assert worked == []


async def test_a_top_level_spawn_past_the_fan_out_bound_fails_the_run_at_once(
    stack: Endpoints, admin: AdminClient, registry: SchemaRegistryClient
) -> None:
    source, output = topics(admin, "tree")
    team = Team(unique_name("team"), max_children=2, partitions=3)

    @team.child
    async def work(task: ChildTask, ctx: DurableContext) -> str:
        return "never"

    tries: list[str] = []
    parent = Agent(unique_name("parent"), durable=True, calls=team.calls)

    @parent.on(source, Ping, output=output)
    async def lead(ping: Ping, ctx: DurableContext) -> Pong:
        tries.append(ping.id)
        await team.spawn(ctx, ["a", "b", "c"], timeout_s=10)
        return Pong(id=ping.id, key=ping.key, seq=ping.seq)

    serde = Serde(registry)
    async with running([parent, team.children]):
        await publish(source, pings(1))

        def failed() -> bool:
            found = read_journals(serde, parent.name)
            return any(j.state == "failed" for j in found.values())

        await until(failed, 30, every_s=0.5)
        await asyncio.sleep(1)
    (journal,) = read_journals(serde, parent.name).values()
    assert "spawn 3 children at once, past max_children=2" in (journal.detail or "")
    assert tries == ["p0"]  # not retried: it would only fail again
    spawned = await read_events(serde, team.tasks_topic, ChildTask, 1, timeout_s=3)
    assert spawned == []  # nothing was sent
