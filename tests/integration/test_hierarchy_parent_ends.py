"""A parent run that ends while its children still work, on the real broker and registry:
cancelled by an operator, or failing for good, it cancels every child it was still waiting
for, and its journal records which (so a restart neither sends again nor forgets)."""

from __future__ import annotations

from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient

from hivebus import Agent, DurableContext, Retry
from hivebus.contracts import Serde
from hivebus.dev import Endpoints
from hivebus.durable import cancel
from hivebus.durable.children import recorded
from hivebus.durable.reader import read_journals
from hivebus.patterns import ChildResult, ChildTask, Team
from hivebus.testing.reader import read_events
from hivebus.testing.stack import unique_name
from hivebus.testing.worker import running
from tests.integration.runtime_contracts import Ping, Pong
from tests.integration.runtime_support import publish, topics, until


def _team() -> Team:
    team = Team(unique_name("team"), partitions=3)

    @team.child
    async def work(task: ChildTask, ctx: DurableContext) -> str:
        if task.arguments() == "slow":
            await ctx.sleep(300)  # durably: the run suspends, holding nothing
        return f"did {task.arguments()}"

    return team


def _states(serde: Serde, agent: str) -> dict[str, str]:
    return {run: journal.state for run, journal in read_journals(serde, agent).items()}


async def test_a_parent_cancelled_while_its_children_work_cancels_them(
    stack: Endpoints, admin: AdminClient, registry: SchemaRegistryClient
) -> None:
    source, output = topics(admin, "ends")
    team = _team()
    parent = Agent(unique_name("parent"), durable=True, calls=team.calls)

    @parent.on(source, Ping, output=output)
    async def lead(ping: Ping, ctx: DurableContext) -> Pong:
        await team.spawn(ctx, ["slow", "slow"], timeout_s=600)
        return Pong(id=ping.id, key=ping.key, seq=ping.seq)

    serde = Serde(registry)
    async with running([parent, team.children]):
        [run_id] = await publish(source, [Ping(id="p0", key="k0", seq=0)])

        def children_sleep_and_parent_waits() -> bool:
            children = list(_states(serde, team.children.name).values())
            waiting = _states(serde, parent.name).get(run_id) == "waiting"
            return children == ["sleeping"] * 2 and waiting

        await until(children_sleep_and_parent_waits, 60, every_s=0.5)
        await cancel(parent.name, run_id)
        await until(lambda: list(_states(serde, team.children.name).values()) == ["cancelled"] * 2,
                    60, every_s=0.5)  # fmt: skip
    journal = read_journals(serde, parent.name)[run_id]
    assert journal.state == "cancelled"
    children = sorted(_states(serde, team.children.name))
    assert recorded(journal) == {team.children.name: children}
    answers = await read_events(serde, team.results_topic, ChildResult, 1, timeout_s=3)
    assert answers == []  # cancelled children never answer


async def test_a_parent_failing_for_good_while_its_children_work_cancels_them(
    stack: Endpoints, admin: AdminClient, registry: SchemaRegistryClient
) -> None:
    source, output = topics(admin, "ends")
    team = _team()
    parent = Agent(unique_name("parent"), durable=True, calls=team.calls, retry=Retry(attempts=1))
    executions: list[str] = []

    @parent.on(source, Ping, output=output)
    async def lead(ping: Ping, ctx: DurableContext) -> Pong:
        executions.append(ctx.run_id)
        if len(executions) > 1:  # woken by the quick child's answer: it breaks now
            raise RuntimeError("the lead broke while its children worked")
        await team.spawn(ctx, ["quick", "slow", "slow"], timeout_s=600)
        return Pong(id=ping.id, key=ping.key, seq=ping.seq)

    serde = Serde(registry)
    async with running([parent, team.children]):
        [run_id] = await publish(source, [Ping(id="p0", key="k0", seq=0)])
        await until(lambda: _states(serde, parent.name).get(run_id) == "failed", 60, every_s=0.5)
        await until(lambda: sorted(_states(serde, team.children.name).values())
                    == ["cancelled", "cancelled", "completed"], 60, every_s=0.5)  # fmt: skip
    journal = read_journals(serde, parent.name)[run_id]
    assert "the lead broke" in (journal.detail or "")
    states = _states(serde, team.children.name)
    slow = sorted(run for run, state in states.items() if state == "cancelled")
    assert recorded(journal) == {team.children.name: slow}  # not the one that answered
