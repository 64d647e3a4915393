"""Read models queried through the Context, on the real broker and registry: a handler reads
`ctx.view(...)` from a replica restored from the changelog, started and stopped with its
agent; and a durable run's reads are journaled, so a run replayed on a restarted worker
sees what it saw the first time, while the model has moved on."""

from __future__ import annotations

import json
from typing import Any

from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient
from prometheus_client import REGISTRY

from hivebus import Agent, Context, DurableContext
from hivebus.contracts import Serde
from hivebus.dev import Endpoints
from hivebus.durable import signal
from hivebus.durable.reader import read_journals
from hivebus.patterns import ReadModel
from hivebus.testing.reader import read_events
from hivebus.testing.stack import unique_name
from hivebus.testing.worker import running
from tests.integration.runtime_contracts import Ping, Pong
from tests.integration.runtime_support import publish, topics, until

COUNT = "select count(*), sum(json_extract(value, '$.pings')) from entries"


def _model(name: str, source: str) -> ReadModel:
    """Per key: how many pings."""
    view = ReadModel(name, partitions=3)

    @view.on(source, Ping, key=lambda ping: ping.key)
    def count(state: dict[str, Any] | None, ping: Ping) -> dict[str, Any]:
        return {"pings": (state or {"pings": 0})["pings"] + 1}

    return view


def _pings(prefix: str, count: int, keys: int = 3) -> list[Ping]:
    return [Ping(id=f"{prefix}{i}", key=f"k{i % keys}", seq=i) for i in range(count)]


async def _fold(view: ReadModel, source: str, events: list[Ping], total: int) -> None:
    """Run the projector until the model holds `total` pings."""
    async with running([view.projector]):
        await publish(source, events)
        await until(lambda: sum(
            (view.store.entry(f"k{i}") or ({"pings": 0}, 0))[0]["pings"] for i in range(3)
        ) == total, 60)  # fmt: skip


async def test_a_handler_reads_the_view_it_declared_from_a_replica_restored_from_kafka(
    stack: Endpoints, admin: AdminClient, registry: SchemaRegistryClient
) -> None:
    source, _ = topics(admin, "ctxview-src")
    asks, answers = topics(admin, "ctxview-ask")
    name = unique_name("ctx-view")
    projecting = _model(name, source)
    await _fold(projecting, source, _pings("a", 30), 30)
    projecting.close()

    replica = _model(name, source)  # a new process's replica: its store is empty
    asker = Agent(unique_name("asker"), views=[replica])

    @asker.on(asks, Ping, output=answers)
    async def answer(ping: Ping, ctx: Context) -> Pong:
        view = ctx.view(name)
        state = await view.get(ping.key)
        [(keys, total)] = await view.query(COUNT)
        seen = {"state": state, "keys": keys, "total": total, "lag": view.lag()}
        return Pong(id=ping.id, key=ping.key, seq=ping.seq, handled_by=json.dumps(seen))

    serde = Serde(registry)
    async with running([asker]):
        assert replica.replica.running  # started with the agent, before any read
        await publish(asks, [Ping(id=f"q{i}", key=f"k{i}", seq=i) for i in range(3)])
        got = await read_events(serde, answers, Pong, 3, timeout_s=60)
        await until(lambda: REGISTRY.get_sample_value(
            "hivebus_read_model_lag", {"view": name}) == 0, 10)  # fmt: skip
    await until(lambda: not replica.replica.running, 10)  # and stopped with it
    seen = {r.event.key: json.loads(r.event.handled_by) for r in got}
    assert {k: s["state"] for k, s in seen.items()} == {f"k{i}": {"pings": 10} for i in range(3)}
    assert all((s["keys"], s["total"], s["lag"]) == (3, 30, 0) for s in seen.values())
    assert REGISTRY.get_sample_value("hivebus_read_model_entries", {"view": name}) == 3


async def test_a_durable_run_replayed_after_a_restart_sees_the_view_it_read_before(
    stack: Endpoints, admin: AdminClient, registry: SchemaRegistryClient
) -> None:
    source, _ = topics(admin, "durview-src")
    asks, answers = topics(admin, "durview-ask")
    name, agent_name = unique_name("dur-view"), unique_name("reader")
    projecting = _model(name, source)
    await _fold(projecting, source, _pings("a", 6), 6)  # k0, k1, k2: 2 pings each

    def reader(view: ReadModel) -> Agent:
        agent = Agent(agent_name, durable=True, views=[view])

        @agent.on(asks, Ping, output=answers)
        async def answer(ping: Ping, ctx: DurableContext) -> Pong:
            before = await ctx.view(name).get(ping.key)  # journaled
            rows = await ctx.view(name).query(COUNT)  # journaled
            await ctx.wait_for("go")
            after = await ctx.view(name).get(ping.key)  # a read after the wait: live
            seen = {"before": before, "rows": [list(r) for r in rows], "after": after,
                    "tuples": all(isinstance(r, tuple) for r in rows)}  # fmt: skip
            return Pong(id=ping.id, key=ping.key, seq=ping.seq, handled_by=json.dumps(seen))

        return agent

    serde = Serde(registry)
    first = reader(_model(name, source))
    async with running([first]):
        [run_id] = await publish(asks, [Ping(id="q0", key="k0", seq=0)])

        def waiting() -> bool:
            journal = read_journals(serde, agent_name).get(run_id)
            return journal is not None and journal.state == "waiting"

        await until(waiting, 60, every_s=0.5)
    await _fold(projecting, source, _pings("b", 9), 15)  # meanwhile: k0 has 5 pings now
    projecting.close()

    restarted = _model(name, source)  # the restarted worker's replica: the new states
    async with running([reader(restarted)]):
        await signal(agent_name, run_id, "go")
        [got] = await read_events(serde, answers, Pong, 1, timeout_s=60)
    seen = json.loads(got.event.handled_by)
    assert seen["before"] == {"pings": 2} and seen["rows"] == [[3, 6]] and seen["tuples"]
    assert seen["after"] == {"pings": 5}  # the replica had it: the replay did not ask it
    journal = read_journals(serde, agent_name)[run_id]
    reads = [s.name for s in journal.steps if s.name.startswith("hivebus:view:")]
    assert reads == [f"hivebus:view:{name}"] * 3 and journal.state == "completed"
