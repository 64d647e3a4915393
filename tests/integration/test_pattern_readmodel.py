"""Read models on the real broker and registry: events folded into an embedded store that
another agent's handler queries, a projector restarted with an empty store that loses no
update, and a new replica restored from the compacted changelog with its lag at 0."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient
from prometheus_client import REGISTRY

from hivebus import Agent, Context
from hivebus.contracts import Serde
from hivebus.dev import Endpoints
from hivebus.patterns import ReadModel
from hivebus.testing.reader import read_events
from hivebus.testing.stack import unique_name
from hivebus.testing.worker import running
from tests.integration.runtime_contracts import Ping, Pong
from tests.integration.runtime_support import pings, publish, topics, until


def _model(name: str, source: str) -> ReadModel:
    """Per key: how many pings, their sequence numbers summed, the last payload."""
    view = ReadModel(name, partitions=3)

    @view.on(source, Ping, key=lambda ping: ping.key)
    def count(state: dict[str, Any] | None, ping: Ping) -> dict[str, Any]:
        state = state or {"pings": 0, "seq_sum": 0}
        return {"pings": state["pings"] + 1, "seq_sum": state["seq_sum"] + ping.seq,
                "last": ping.payload}  # fmt: skip

    return view


def _expected(events: list[Ping]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for ping in events:
        now = found.setdefault(ping.key, {"pings": 0, "seq_sum": 0})
        now.update(pings=now["pings"] + 1, seq_sum=now["seq_sum"] + ping.seq, last=ping.payload)
    return found


async def test_a_read_model_is_queried_by_handlers_and_restored_on_a_new_replica(
    stack: Endpoints, admin: AdminClient, registry: SchemaRegistryClient
) -> None:
    source, _ = topics(admin, "view-src")
    asks, answers = topics(admin, "view-ask")
    name = unique_name("pings-by-key")
    first = [Ping(id=f"a{i}", key=f"k{i % 5}", seq=i, payload=f"a{i}") for i in range(60)]
    second = [Ping(id=f"b{i}", key=f"k{i % 5}", seq=100 + i, payload=f"b{i}") for i in range(40)]
    view = _model(name, source)
    async with running([view.projector]):
        await publish(source, first)
        await until(lambda: view.store.count() == 5 and sum(
            view.store.entry(f"k{i}")[0]["pings"] for i in range(5)  # type: ignore[index]
        ) == 60, 60)  # fmt: skip
    # A new projector, its store empty: it restores from the changelog before it folds, so
    # the second batch adds to the first and no update is lost.
    restarted = _model(name, source)
    async with running([restarted.projector]):
        await publish(source, second)
        await until(lambda: sum(
            (restarted.store.entry(f"k{i}") or ({"pings": 0}, 0))[0]["pings"] for i in range(5)
        ) == 100, 60)  # fmt: skip

    # Any other agent's handler reads the model, from a replica of its own process.
    reader_view = _model(name, source)  # (its projector is not run: this is a reader)
    asker = Agent(unique_name("asker"))

    @asker.on(asks, Ping, output=answers)
    async def answer(ping: Ping, ctx: Context) -> Pong:
        state = await reader_view.get(ping.key)
        return Pong(id=ping.id, key=ping.key, seq=ping.seq, handled_by=json.dumps(state))

    serde = Serde(registry)
    async with running([asker]):
        await publish(asks, pings(5))
        got = await read_events(serde, answers, Pong, 5, timeout_s=60)
    expected = _expected(first + second)
    assert {r.event.key: json.loads(r.event.handled_by) for r in got} == expected
    # The store answers SQL too, over the JSON states.
    rows = await reader_view.query(
        "select key, json_extract(value, '$.pings') from entries order by key"
    )
    assert rows == [(k, expected[k]["pings"]) for k in sorted(expected)]
    assert reader_view.lag() == 0
    await until(lambda: REGISTRY.get_sample_value("hivebus_read_model_lag", {"view": name}) == 0,
                10)  # fmt: skip
    assert REGISTRY.get_sample_value("hivebus_read_model_entries", {"view": name}) == 5
    # Versions count the changes: one per event of the key.
    versions = Counter(p.key for p in first + second)
    assert all(reader_view.store.entry(k)[1] == n for k, n in versions.items())  # type: ignore[index]
    for model in (view, restarted, reader_view):
        model.close()
