"""Agents on a real broker: typed handlers, headers, fan-out to groups, regex subscriptions."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient, SchemaRegistryError
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext
from prometheus_client import REGISTRY

from hivebus import Agent, Context, Publisher
from hivebus.contracts import Serde
from hivebus.dev import Endpoints
from hivebus.testing.reader import read_events
from hivebus.testing.stack import unique_name
from hivebus.testing.worker import running, wait_for
from tests.integration.conftest import create_topic
from tests.integration.runtime_contracts import Ping, Pong
from tests.integration.runtime_support import pings, publish, relay_agent, topics


async def test_outputs_carry_cloudevents_headers_linked_to_their_cause(
    admin: AdminClient, registry: SchemaRegistryClient
) -> None:
    source, output = topics(admin, "flow")
    agent = relay_agent(unique_name("relay"), source, output)
    events = pings(12)
    async with running([agent]):
        ids = await publish(source, events)
        got = await read_events(Serde(registry), output, Pong, len(events))

    assert sorted(r.event.id for r in got) == sorted(e.id for e in events)
    by_id = dict(zip([e.id for e in events], ids, strict=True))
    for received in got:
        meta = received.meta
        assert meta is not None
        assert meta.source == f"hivebus://agents/{agent.name}"
        assert meta.type == "test.runtime.Pong"
        assert meta.specversion == "1.0"
        assert meta.causation_id == by_id[received.event.id]
        assert meta.correlation_id == by_id[received.event.id]  # first hop: cause = correlation
        assert received.key == received.event.key  # the output keeps the input's key
        assert received.event.handled_by == agent.name


async def test_a_plain_confluent_consumer_decodes_hivebus_output(
    stack: Endpoints, admin: AdminClient, registry: SchemaRegistryClient
) -> None:
    source, output = topics(admin, "raw")
    async with running([relay_agent(unique_name("relay"), source, output)]):
        await publish(source, pings(3))
        await read_events(Serde(registry), output, Pong, 3)

    consumer = Consumer({
        "bootstrap.servers": stack.bootstrap_servers,
        "group.id": unique_name("raw"),
        "auto.offset.reset": "earliest",
    })  # fmt: skip
    consumer.subscribe([output])
    deserializer = AvroDeserializer(registry)  # no hivebus code from here on
    values, headers = [], []
    while len(values) < 3:
        message = consumer.poll(1.0)
        if message is None or message.error():
            continue
        values.append(
            deserializer(message.value(), SerializationContext(output, MessageField.VALUE))
        )
        headers.append(dict(message.headers() or []))
    consumer.close()
    assert sorted(v["id"] for v in values) == ["p0", "p1", "p2"]
    for h in headers:
        assert h["ce_specversion"] == b"1.0"
        assert h["ce_type"] == b"test.runtime.Pong"
        assert h["content-type"] == b"application/avro"
        assert {"ce_id", "ce_source", "ce_time", "ce_causationid", "ce_correlationid"} <= set(h)


async def test_two_agents_on_one_topic_each_receive_every_event(
    admin: AdminClient, registry: SchemaRegistryClient
) -> None:
    source, output = topics(admin, "fanout")
    first = relay_agent(unique_name("first"), source, output)
    second = relay_agent(unique_name("second"), source, output)
    async with running([first, second]):
        await publish(source, pings(10))
        got = await read_events(Serde(registry), output, Pong, 20)
    for agent in (first, second):
        assert sorted(r.event.id for r in got if r.event.handled_by == agent.name) == sorted(
            f"p{i}" for i in range(10)
        )


async def test_a_regex_subscription_picks_up_a_topic_created_later(
    admin: AdminClient, registry: SchemaRegistryClient
) -> None:
    prefix = unique_name("late")
    output = create_topic(admin, f"{prefix}-out")
    agent = relay_agent(unique_name("watcher"), prefix.replace(".", r"\.") + r"\..*", output)
    async with running([agent], wait_for_assignment=False):
        late = create_topic(admin, f"{prefix}.created-after-start", partitions=2)
        await asyncio.sleep(0.5)
        await publish(late, pings(4))
        got = await read_events(Serde(registry), output, Pong, 4, timeout_s=60)
    assert sorted(r.event.id for r in got) == ["p0", "p1", "p2", "p3"]


async def test_events_of_types_without_a_handler_are_skipped(
    admin: AdminClient, registry: SchemaRegistryClient
) -> None:
    source, _ = topics(admin, "mixed")
    # This agent handles Pong only; the Ping events on its topic are not its business.
    agent = Agent(unique_name("pong-only"))
    seen: list[str] = []

    @agent.on(source, Pong)
    async def record(pong: Pong, ctx: Context) -> None:
        seen.append(pong.id)

    async with running([agent]):
        await publish(source, pings(3))
        marker = uuid.uuid4().hex
        async with Publisher("tests") as publisher:
            await publisher.publish(
                source, Pong(id=marker, key="k", seq=0), key="k", multi_type=True
            )
        await wait_for(lambda: marker in seen, what="the Pong to be handled")
    assert seen == [marker]
    ignored = REGISTRY.get_sample_value(
        "hivebus_events_ignored_total", {"agent": agent.name, "topic": source}
    )
    assert ignored == 3
    consumed = REGISTRY.get_sample_value(
        "hivebus_events_consumed_total", {"agent": agent.name, "topic": source}
    )
    assert consumed == 4


async def test_a_multi_type_output_topic_registers_one_subject_per_record(
    admin: AdminClient, registry: SchemaRegistryClient
) -> None:
    source, output = topics(admin, "multi")
    agent = Agent(unique_name("multi"))

    @agent.on(source, Ping, output=output, output_multi_type=True)
    async def both(ping: Ping, ctx: Context) -> Pong:
        await ctx.publish(output, ping, multi_type=True)  # the input type, on the same topic
        return Pong(id=ping.id, key=ping.key, seq=ping.seq)

    async with running([agent]):
        await publish(source, pings(2))
        got = await read_events(Serde(registry), output, Pong, 2, until=lambda r: len(r) >= 2)
    assert {r.event.id for r in got} >= {"p0", "p1"}
    # Asked one by one: a registry's subject list is paged (Apicurio returns 1,000 at most).
    for record in ("test.runtime.Ping", "test.runtime.Pong"):
        assert registry.get_latest_version(f"{output}-{record}").schema_id > 0
    with pytest.raises(SchemaRegistryError) as refused:
        registry.get_latest_version(f"{output}-value")
    assert refused.value.http_status_code == 404
