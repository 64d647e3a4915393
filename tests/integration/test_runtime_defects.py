"""Defects of the runtime before its restructuring, each reproduced on a real broker.

- an oversized dead letter (refused by the producer before it left) leaked its offset;
- the output of an input without CloudEvents headers carried no causation or correlation;
- `hivebus_consumer_lag` did not follow what the broker has committed;
- an output's key was the input's key decoded as UTF-8 and encoded again, so a key that is
  not UTF-8 came out as other bytes (and could land on another partition).
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Callable
from typing import TypeVar

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient
from prometheus_client.parser import text_string_to_metric_families

from hivebus import Agent, Context, Publisher, Retry
from hivebus.contracts import Serde
from hivebus.dev import Endpoints
from hivebus.runtime.deadletter import dlq_topic
from hivebus.runtime.dlq_reader import read_dead_letters, replay
from hivebus.testing.reader import read_events
from hivebus.testing.stack import unique_name
from hivebus.testing.worker import running
from tests.integration.runtime_contracts import Ping, Pong
from tests.integration.runtime_support import pings, publish, relay_agent, topics

T = TypeVar("T")

# ---- helpers: the broker's own view, read with raw clients ----


def _committed(bootstrap: str, group: str, partitions: list[TopicPartition]) -> dict[int, int]:
    """The group's committed offset of each partition, as the broker has it (-1001: none)."""
    probe = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        return {tp.partition: tp.offset for tp in probe.committed(partitions, timeout=10)}
    finally:
        probe.close()


def _broker_lag(bootstrap: str, group: str, topic: str, partitions: int) -> dict[int, int]:
    """End offset minus the group's committed offset, per partition: what
    `kafka-consumer-groups --describe` reports."""
    wanted = [TopicPartition(topic, p) for p in range(partitions)]
    probe = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        committed = {tp.partition: tp.offset for tp in probe.committed(wanted, timeout=10)}
        ends = {tp.partition: probe.get_watermark_offsets(tp, timeout=10)[1] for tp in wanted}
    finally:
        probe.close()
    return {p: ends[p] - committed[p] for p in ends}


async def _until(
    probe: Callable[[], T], check: Callable[[T], bool], timeout_s: float, what: str
) -> T:
    """Call the blocking `probe()` off the loop until `check(result)`; the last result."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = await asyncio.to_thread(probe)
        if check(result):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"after {timeout_s:.0f} s, {what}: last seen {result!r}")
        await asyncio.sleep(0.2)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _lag_series(port: int, agent: str) -> dict[tuple[str, str], float]:
    """Every `hivebus_consumer_lag` sample the worker serves for `agent`, by (topic, partition)."""
    _, body = _get(f"http://127.0.0.1:{port}/metrics")
    return {
        (sample.labels["topic"], sample.labels["partition"]): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
        if sample.name == "hivebus_consumer_lag" and sample.labels.get("agent") == agent
    }


# ---- defect 5: a dead letter refused synchronously (too large) ----


@pytest.mark.parametrize("size", [18_500, 19_950])
async def test_a_dead_letter_too_large_with_its_error_headers_still_lands_and_is_committed(
    stack: Endpoints, admin: AdminClient, registry: SchemaRegistryClient, size: int
) -> None:
    # 18,500 bytes fit with short error headers; 19,950 do not even then, so the dead letter
    # goes without its value (recorded as dropped; the source record still holds it).
    source, output = topics(admin, "oversize", partitions=1)
    name = unique_name("oversized")
    agent = Agent(name, retry=Retry(attempts=1))
    reason = "the model refused: " + "r" * 2000  # with this in the headers: over the limit

    @agent.on(source, Ping, output=output)
    async def handle(ping: Ping, ctx: Context) -> Pong:
        if ping.payload:
            raise ValueError(reason)
        return Pong(id=ping.id, key=ping.key, seq=ping.seq)

    big = Ping(id="big", key="k", seq=0, payload="x" * size)  # fits alone
    after = Ping(id="after", key="k", seq=1)  # same key, same lane: must not be stuck
    serde = Serde(registry)
    # The worker's producer refuses records over 20,000 bytes before they leave (librdkafka
    # raises MSG_SIZE_TOO_LARGE from produce()): the record plus ~2 KB of error headers is.
    async with running([agent], producer_overrides={"message.max.bytes": "20000"}):
        await publish(source, [big, after])
        handled = await read_events(serde, output, Pong, 1, timeout_s=20)
        letters = await _until(
            lambda: list(read_dead_letters(name, unreplayed_only=False, timeout_s=2)),
            lambda found: len(found) >= 1,
            timeout_s=20,
            what=f"the oversized record should be in {dlq_topic(name)}",
        )
        committed = await _until(
            lambda: _committed(stack.bootstrap_servers, name, [TopicPartition(source, 0)]),
            lambda offsets: offsets.get(0, -1) >= 2,
            timeout_s=15,
            what=f"the group {name} should commit {source}[0] past both records (offset 2)",
        )

    inputs = {r.event.id: r.message for r in await read_events(serde, source, Ping, 2)}
    [letter] = letters
    if size == 18_500:
        assert letter.value == inputs["big"].value()  # the original bytes, untouched
    else:
        assert letter.value is None
        assert letter.error["value_dropped"] == str(len(inputs["big"].value() or b""))
        await asyncio.to_thread(replay, name)  # fetches the value back from the source
        again = await read_events(serde, source, Ping, 3, timeout_s=20)
        assert [r.message.value() for r in again][2] == inputs["big"].value()
    assert letter.key == b"k"
    assert letter.error["kind"] == "handler"
    assert letter.error["type"] == "ValueError"
    assert letter.error["offset"] == "0"
    message = letter.error["message"]
    assert reason.startswith(message) and len(message) < 1000  # shortened so that it fits
    assert [r.event.id for r in handled] == ["after"]
    assert committed == {0: 2}


# ---- defect 8: lineage of an input from a producer that writes no CloudEvents headers ----


async def test_outputs_of_an_input_without_cloudevents_headers_carry_causation_and_correlation(
    stack: Endpoints, admin: AdminClient, registry: SchemaRegistryClient
) -> None:
    source, output = topics(admin, "headerless", partitions=1)
    serde = Serde(registry)
    encoder = serde.encoder(source, Ping)  # Confluent-framed Avro, as any Avro producer writes
    raw = Producer({"bootstrap.servers": stack.bootstrap_servers})
    for ping in pings(3, keys=3):
        raw.produce(source, encoder.encode(ping), key=ping.key.encode())  # no headers at all
    assert raw.flush(30) == 0

    async with running([relay_agent(unique_name("lineage"), source, output)]):
        got = await read_events(serde, output, Pong, 3, timeout_s=30)

    inputs = {r.event.id: r.message for r in await read_events(serde, source, Ping, 3)}
    assert all(message.headers() is None for message in inputs.values())
    assert sorted(r.event.id for r in got) == ["p0", "p1", "p2"]
    for received in got:
        headers = dict(received.message.headers() or [])
        where = inputs[received.event.id]
        expected = f"{source}/{where.partition()}/{where.offset()}".encode()
        assert headers.get("ce_causationid") == expected, (received.event.id, headers)
        assert headers.get("ce_correlationid") == expected, (received.event.id, headers)
        assert headers["ce_id"] != expected  # the output's own id is new


# ---- outputs keep the input's key bytes, UTF-8 or not ----


async def test_outputs_are_keyed_with_the_inputs_key_bytes_even_when_they_are_not_utf8(
    stack: Endpoints, admin: AdminClient, registry: SchemaRegistryClient
) -> None:
    source, output = topics(admin, "rawkeys", partitions=3)
    serde = Serde(registry)
    encoder = serde.encoder(source, Ping)
    keys = [b"\xff\xfe-binary", b"plain-ascii", "caf\u00e9".encode(), b"\x00\x80\x81"]
    # partitioned as the Java client (and hivebus) partition keys
    raw = Producer({"bootstrap.servers": stack.bootstrap_servers, "partitioner": "murmur2_random"})
    for i, key in enumerate(keys):
        raw.produce(source, encoder.encode(Ping(id=f"k{i}", key="k", seq=i)), key=key)
    assert raw.flush(30) == 0

    async with running([relay_agent(unique_name("rawkeys"), source, output)]):
        got = await read_events(serde, output, Pong, len(keys), timeout_s=30)

    inputs = {r.event.id: r.message for r in await read_events(serde, source, Ping, len(keys))}
    assert sorted(r.event.id for r in got) == [f"k{i}" for i in range(len(keys))]
    for received in got:
        source_message = inputs[received.event.id]
        assert received.message.key() == source_message.key(), received.event.id
        # the same key bytes on topics with as many partitions: the same partition
        assert received.message.partition() == source_message.partition(), received.event.id


# ---- defect 11: the lag gauge follows the broker's committed offsets; probes answer ----


async def test_consumer_lag_gauge_follows_the_brokers_committed_offsets_down_to_zero(
    stack: Endpoints, admin: AdminClient
) -> None:
    partitions = 2
    source, _ = topics(admin, "lagging", partitions=partitions)
    name = unique_name("lagging")
    agent = Agent(name, max_in_flight=4)
    handled: dict[str, list[int]] = defaultdict(list)
    events = pings(3000, keys=30)  # 1,500 a partition: over the scheduler's high watermark
    all_handled = asyncio.Event()

    @agent.on(source, Ping)
    async def think(ping: Ping, ctx: Context) -> None:
        await asyncio.sleep(0.008)  # 3,000 x 8 ms / 4 at once: about 6 s of backlog
        handled[ping.key].append(ping.seq)
        if sum(map(len, handled.values())) >= len(events):
            all_handled.set()

    async with Publisher("tests") as publisher:
        await publisher.publish_many(source, [(e.key, e) for e in events])
    port = _free_port()
    async with running([agent], metrics_port=port) as worker:
        dispatcher = worker.runners[0].dispatcher
        peak = 0.0  # the highest lag the gauge showed while the backlog was worked off
        while not all_handled.is_set():
            lags = await asyncio.to_thread(_lag_series, port, name)
            peak = max([peak, *lags.values()])
            await asyncio.sleep(0.25)
        series = await _until(
            lambda: _lag_series(port, name),
            lambda lags: len(lags) == partitions and all(v == 0 for v in lags.values()),
            timeout_s=10,
            what=f"every hivebus_consumer_lag series of {name} should read 0",
        )
        truth = await asyncio.to_thread(
            _broker_lag, stack.bootstrap_servers, name, source, partitions
        )
        health = await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/healthz")
        ready = await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/readyz")
        pauses = dispatcher.pauses

    assert pauses >= 1, "the backlog should have paused a partition at least once"
    assert peak > 0, "the gauge read 0 while thousands of records were still unhandled"
    assert series == {(source, str(p)): 0.0 for p in range(partitions)}
    assert truth == dict.fromkeys(range(partitions), 0)  # the broker agrees: nothing left
    for path, (status, body) in (("/healthz", health), ("/readyz", ready)):
        assert status == 200, (path, status, body[:200])
        assert json.loads(body)["ok"] is True, (path, body[:200])
