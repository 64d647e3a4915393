"""A hung registry holds back only what needs it: the real registry process, frozen with SIGSTOP.

A stopped JVM still has its listening socket, so the kernel accepts connections and requests
simply get no answer — the failure that used to freeze a whole worker. Every test thaws it in a
`finally` and waits until it answers again, so the session's shared stack survives.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient

from hivebus.contracts import RegistryUnavailable, Serde, registry_client
from hivebus.dev import Endpoints, LocalStack
from hivebus.dev.health import registry_ok
from hivebus.testing.stack import unique_name
from tests.integration.runtime_contracts import Ping

LIMIT_S = 1.0  # the lookup timeout under test


@pytest.fixture
def registry_pid(stack: Endpoints) -> int:
    """The pid of the local stack's registry, the one this session talks to."""
    local = LocalStack()
    pid = local.registry.pid()
    if pid is None or local.endpoints.registry_url != stack.registry_url:
        pytest.skip("freezing the registry needs the local `hivebus dev` stack's own process")
    return pid


@contextmanager
def frozen(pid: int, url: str) -> Iterator[None]:
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)
        deadline = time.monotonic() + 30
        while not registry_ok(url) and time.monotonic() < deadline:
            time.sleep(0.2)


@pytest.fixture
def topic(registry: SchemaRegistryClient) -> Iterator[str]:
    """A topic name whose subjects are deleted afterwards (no Kafka topic is needed)."""
    name = unique_name("outage")
    yield name
    for subject in (f"{name}-value", f"{name}.later-value"):
        for permanent in (False, True):
            try:
                registry.delete_subject(subject, permanent=permanent)
            except Exception:
                break


async def test_a_frozen_registry_holds_back_only_the_lookups_that_need_it(
    stack: Endpoints, registry_pid: int, topic: str
) -> None:
    url = stack.registry_url
    warm = Serde(registry_client(url))
    encoder = warm.encoder(topic, Ping)
    ping = Ping(id="p-1", key="k", seq=1)
    value = encoder.encode(ping)
    assert warm.decode(value, Ping) == ping
    # A serde that has never seen this schema id; its HTTP timeout outlasts the freeze, so the
    # request it sends during the freeze is answered after the thaw and fills its cache.
    cold = Serde(registry_client(url, timeout_s=15), timeout_s=LIMIT_S)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.02)
            ticks += 1

    ticking = asyncio.create_task(ticker())
    try:
        with frozen(registry_pid, url):
            started = time.monotonic()
            with pytest.raises(RegistryUnavailable) as error:
                await cold.writer_async(value)
            surfaced = time.monotonic() - started
            assert LIMIT_S <= surfaced < LIMIT_S + 1
            assert ticks >= 25  # ~50 at 20 ms: the loop ran on while the lookup waited
            assert url in str(error.value)
            assert "no answer within 1 s" in str(error.value)

            # What is cached needs no registry: decoding and encoding carry on.
            assert warm.cached_writer(value) is not None
            assert warm.decode(value, Ping) == ping
            assert warm.decode(encoder.encode(ping), Ping) == ping
            assert await warm.encoder_async(topic, Ping) is encoder

            with pytest.raises(RegistryUnavailable):
                await cold.encoder_async(f"{topic}.later", Ping, timeout_s=LIMIT_S)
            assert await cold.reachable(timeout_s=0.5) is False
            print(f"\nSIGSTOPped registry surfaced as RegistryUnavailable in {surfaced:.3f} s")
    finally:
        ticking.cancel()

    # Thawed: the same calls succeed.
    writer = await cold.writer_async(value, timeout_s=10)
    assert writer.schema_id == encoder.schema_id
    assert cold.decode(value, Ping) == ping
    later = await cold.encoder_async(f"{topic}.later", Ping, timeout_s=10)
    assert later.schema_id == encoder.schema_id  # same schema, another subject, same id
    assert await cold.reachable() is True


def test_a_sync_call_to_a_frozen_registry_raises_instead_of_hanging(
    stack: Endpoints, registry_pid: int, topic: str
) -> None:
    url = stack.registry_url
    value = Serde(registry_client(url)).encoder(topic, Ping).encode(Ping(id="p", key="k", seq=0))
    serde = Serde(registry_client(url, timeout_s=LIMIT_S))  # sync: its HTTP timeout bounds it
    with frozen(registry_pid, url):
        started = time.monotonic()
        with pytest.raises(RegistryUnavailable) as error:
            serde.writer(value)
        surfaced = time.monotonic() - started
    # Two attempts of LIMIT_S each (one retry), at most 0.25 s apart.
    assert 2 * LIMIT_S <= surfaced < 2 * LIMIT_S + 1
    assert "timed out after 1 s" in str(error.value)
    print(f"\nsync fetch from a SIGSTOPped registry raised after {surfaced:.3f} s")
    assert serde.writer(value).fullname == Ping.fullname  # and works once thawed
