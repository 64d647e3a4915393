"""Outages while events flow: the registry, then the broker, frozen for 30 s each (SIGSTOP).

The agents recover without a restart, nothing is lost or dead-lettered for the outage, and
`/readyz` says not-ready while it lasts, naming the part that is down. Each test thaws what it
froze in a `finally`, so the session's shared stack survives.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient

from hivebus.contracts import Serde
from hivebus.dev import Endpoints, LocalStack
from hivebus.dev.health import kafka_ok, registry_ok
from hivebus.runtime.dlq_reader import read_dead_letters
from hivebus.testing.reader import read_events
from hivebus.testing.stack import unique_name
from hivebus.testing.worker import running
from tests.integration.runtime_contracts import Ping, Pong
from tests.integration.runtime_support import pings, relay_agent, topics

OUTAGE_S = 30.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ready(port: int) -> tuple[int, dict[str, bool]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as answer:
            return answer.status, json.loads(answer.read())["checks"]
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())["checks"]


async def _until_ready(port: int, expected: int, timeout_s: float) -> dict[str, bool]:
    deadline = time.monotonic() + timeout_s
    while True:
        status, checks = await asyncio.to_thread(_ready, port)
        if status == expected:
            return checks
        if time.monotonic() > deadline:
            raise AssertionError(f"/readyz stayed {status} ({checks}), expected {expected}")
        await asyncio.sleep(0.5)


@contextmanager
def frozen(pid: int, healthy: object) -> Iterator[None]:
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)
        deadline = time.monotonic() + 60
        while not healthy() and time.monotonic() < deadline:  # type: ignore[operator]
            time.sleep(0.2)


def _local(stack: Endpoints) -> LocalStack:
    local = LocalStack()
    if local.endpoints.bootstrap_servers != stack.bootstrap_servers:
        pytest.skip("freezing a part needs the local `hivebus dev` stack's own processes")
    return local


async def test_a_registry_outage_holds_records_back_and_loses_none(
    stack: Endpoints, admin: AdminClient, registry: SchemaRegistryClient
) -> None:
    local = _local(stack)
    pid = local.registry.pid()
    assert pid is not None
    source, output = topics(admin, "registry-down", partitions=2)
    name = unique_name("registry-down")
    port = _free_port()
    encoder = Serde(registry).encoder(source, Ping)  # registered before the outage
    events = pings(60, keys=10)
    raw = Producer({"bootstrap.servers": stack.bootstrap_servers})
    async with running([relay_agent(name, source, output)], metrics_port=port):
        await _until_ready(port, 200, timeout_s=20)
        with frozen(pid, lambda: registry_ok(stack.registry_url)):
            started = time.monotonic()
            # The agent has never seen this schema id: every record needs the registry.
            for ping in events:
                raw.produce(source, encoder.encode(ping), key=ping.key.encode())
            assert raw.flush(30) == 0
            checks = await _until_ready(port, 503, timeout_s=15)
            await asyncio.sleep(max(0.0, OUTAGE_S - (time.monotonic() - started)))
        got = await read_events(Serde(registry), output, Pong, len(events), timeout_s=60)
        after = await _until_ready(port, 200, timeout_s=20)
    letters = list(read_dead_letters(name, unreplayed_only=False, timeout_s=3))

    assert checks["registry"] is False and checks["broker"] is True
    assert after["registry"] is True
    assert sorted(r.event.id for r in got) == sorted(e.id for e in events)
    assert letters == [], "records were dead-lettered for the outage"


async def test_a_broker_outage_is_ridden_out_and_loses_nothing(
    stack: Endpoints, admin: AdminClient, registry: SchemaRegistryClient
) -> None:
    local = _local(stack)
    pid = local.kafka.pid()
    assert pid is not None
    source, output = topics(admin, "broker-down", partitions=2)
    name = unique_name("broker-down")
    port = _free_port()
    serde = Serde(registry)
    encoder = serde.encoder(source, Ping)
    before, during = pings(30, keys=10), [p.model_copy(update={"id": f"d{p.seq}-{p.key}"})
                                         for p in pings(30, keys=10)]  # fmt: skip
    raw = Producer({"bootstrap.servers": stack.bootstrap_servers, "linger.ms": 5})
    async with running([relay_agent(name, source, output)], metrics_port=port):
        await _until_ready(port, 200, timeout_s=20)
        for ping in before:
            raw.produce(source, encoder.encode(ping), key=ping.key.encode())
        assert raw.flush(30) == 0
        await read_events(serde, output, Pong, len(before), timeout_s=30)
        with frozen(pid, lambda: kafka_ok(stack.bootstrap_servers)):
            started = time.monotonic()
            for ping in during:  # queued by the producer until the broker answers again
                raw.produce(source, encoder.encode(ping), key=ping.key.encode())
            checks = await _until_ready(port, 503, timeout_s=15)
            await asyncio.sleep(max(0.0, OUTAGE_S - (time.monotonic() - started)))
        assert await asyncio.to_thread(raw.flush, 60) == 0
        wanted = {e.id for e in before + during}
        got = await read_events(  # by assignment: a new group may not join for long after
            serde, output, Pong, len(wanted), timeout_s=90, grouped=False,  # the outage
            until=lambda found: wanted <= {r.event.id for r in found},
        )  # fmt: skip
        after = await _until_ready(port, 200, timeout_s=30)
    letters = list(read_dead_letters(name, unreplayed_only=False, timeout_s=3))

    assert checks["broker"] is False
    assert after["broker"] is True
    assert wanted <= {r.event.id for r in got}, "events were lost in the outage"
    assert letters == [], "records were dead-lettered for the outage"
