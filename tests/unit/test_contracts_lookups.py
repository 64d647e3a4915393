"""The async faces of `Serde`: registry calls off the event loop, bounded, one per key.

The registry here is a fake whose answers wait on an event: only the scheduling is under test.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryError

from hivebus.contracts import RegistryUnavailable, Serde, UndecodableRecord
from hivebus.contracts.wire import frame_header
from tests.integration.runtime_contracts import Ping


class SlowRegistry:
    """Answers after `release` is set or `hold_s` has passed, recording every call it gets."""

    def __init__(self, hold_s: float = 0.0) -> None:
        self.hold_s = hold_s
        self.release = threading.Event()
        self.calls: list[str] = []
        self.failures: list[Exception] = []  # the next calls raise these, one each

    def _answer(self, call: str) -> None:
        self.calls.append(call)
        self.release.wait(self.hold_s)
        if self.failures:
            raise self.failures.pop(0)

    def get_schema(self, schema_id: int) -> Schema:
        self._answer(f"get_schema {schema_id}")
        return Schema(Ping.contract().schema_str, "AVRO")

    def register_schema(self, subject: str, schema: Schema) -> int:
        self._answer(f"register_schema {subject}")
        return 7

    def get_compatibility(self) -> str:
        self._answer("get_compatibility")
        return "BACKWARD"


class NoRegistry:
    """Fails the test on any use: for the faces that must never call the registry."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"the registry was called ({name})")


@pytest.fixture
def slow() -> Iterator[SlowRegistry]:
    registry = SlowRegistry()
    yield registry
    registry.release.set()  # let any thread still waiting finish now


def framed(schema_id: int) -> bytes:
    return frame_header(schema_id) + b"\x02p\x02k\x00\x00"  # a Ping: id "p", key "k", seq 0


async def test_concurrent_misses_for_one_id_share_one_fetch(slow: SlowRegistry) -> None:
    slow.hold_s = 0.2
    serde = Serde(slow)  # type: ignore[arg-type]
    writers = await asyncio.gather(*(serde.writer_async(framed(5)) for _ in range(20)))
    assert all(writer is writers[0] for writer in writers)
    assert writers[0].fullname == Ping.fullname
    assert slow.calls == ["get_schema 5"]

    await asyncio.gather(*(serde.writer_async(framed(n)) for n in (5, 6, 6, 5)))
    assert slow.calls == ["get_schema 5", "get_schema 6"]  # 5 cached, 6 fetched once


async def test_a_fetch_slower_than_the_timeout_raises_while_the_loop_keeps_running(
    slow: SlowRegistry,
) -> None:
    slow.hold_s = 10.0
    serde = Serde(slow)  # type: ignore[arg-type]
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticking = asyncio.create_task(ticker())
    started = time.monotonic()
    try:
        with pytest.raises(RegistryUnavailable) as error:
            await serde.writer_async(framed(9), timeout_s=0.3)
    finally:
        ticking.cancel()
    elapsed = time.monotonic() - started
    assert 0.3 <= elapsed < 0.8
    assert ticks >= 15  # about 30 at 10 ms each: the loop was never blocked
    assert "fetching schema id 9" in str(error.value)
    assert "no answer within 0.3 s" in str(error.value)

    # A second caller joins the fetch still running instead of starting another thread.
    with pytest.raises(RegistryUnavailable):
        await serde.writer_async(framed(9), timeout_s=0.05)
    assert slow.calls == ["get_schema 9"]

    # The fetch finishes after its callers gave up, and fills the cache for the next one.
    slow.release.set()
    for _ in range(500):  # the thread fills the cache: poll it for up to 5 s
        if serde.cached_writer(framed(9)) is not None:
            break
        await asyncio.sleep(0.01)
    assert serde.cached_writer(framed(9)) is await serde.writer_async(framed(9))
    assert slow.calls == ["get_schema 9"]


async def test_cached_faces_never_call_the_registry() -> None:
    serde = Serde(NoRegistry())  # type: ignore[arg-type]
    assert serde.cached_writer(framed(3)) is None
    assert serde.cached_encoder("t", Ping) is None
    for unframed in (b"", b"\x00\x00\x01", b"\x01\x00\x00\x00\x03xyz"):
        with pytest.raises(UndecodableRecord) as error:
            serde.cached_writer(unframed)
        assert error.value.reason == "bad-magic-byte"
        with pytest.raises(UndecodableRecord):
            await serde.writer_async(unframed)  # framing is checked before any lookup


async def test_once_settled_decode_and_encode_need_no_registry(slow: SlowRegistry) -> None:
    serde = Serde(slow)  # type: ignore[arg-type]
    writer = await serde.writer_async(framed(4))
    encoder = await serde.encoder_async("orders", Ping)
    serde.registry = NoRegistry()  # type: ignore[assignment]  # the registry is gone now
    assert serde.cached_writer(framed(4)) is writer
    assert serde.decode(framed(4), Ping) == Ping(id="p", key="k", seq=0)
    value = encoder.encode(Ping(id="q", key="k", seq=1))
    assert serde.decode(value, Ping).id == "q"  # the encoder's schema id 7 was cached too
    assert await serde.writer_async(framed(4)) is writer
    assert await serde.encoder_async("orders", Ping) is encoder


async def test_concurrent_encoder_misses_share_one_registration(slow: SlowRegistry) -> None:
    slow.hold_s = 0.2
    serde = Serde(slow)  # type: ignore[arg-type]
    encoders = await asyncio.gather(*(serde.encoder_async("orders", Ping) for _ in range(10)))
    assert all(encoder is encoders[0] for encoder in encoders)
    assert (encoders[0].subject, encoders[0].schema_id) == ("orders-value", 7)
    assert slow.calls == ["register_schema orders-value"]
    assert serde.cached_encoder("orders", Ping) is encoders[0]
    assert serde.cached_encoder("orders", Ping, multi_type=True) is None

    await serde.encoder_async("orders", Ping, multi_type=True)
    assert slow.calls[-1] == f"register_schema orders-{Ping.fullname}"


async def test_a_slow_registration_raises_registry_unavailable(slow: SlowRegistry) -> None:
    slow.hold_s = 10.0
    serde = Serde(slow, timeout_s=0.2)  # type: ignore[arg-type]  # the serde's default applies
    started = time.monotonic()
    with pytest.raises(RegistryUnavailable, match="settling the schema of Ping on orders"):
        await serde.encoder_async("orders", Ping)
    assert time.monotonic() - started < 0.7


async def test_failures_reach_every_caller_and_are_not_cached(slow: SlowRegistry) -> None:
    serde = Serde(slow)  # type: ignore[arg-type]
    slow.failures = [httpx.ConnectError("[Errno 111] Connection refused")]
    with pytest.raises(RegistryUnavailable, match="connection refused"):
        await serde.writer_async(framed(8))
    assert (await serde.writer_async(framed(8))).schema_id == 8  # the next call asks again

    slow.failures = [SchemaRegistryError(404, 40403, "Schema 11 not found.")]
    with pytest.raises(UndecodableRecord) as unknown:
        await serde.writer_async(framed(11))
    assert unknown.value.reason == "unknown-schema-id"  # a real answer, not an outage


async def test_reachable_answers_within_its_timeout(slow: SlowRegistry) -> None:
    serde = Serde(slow)  # type: ignore[arg-type]
    assert await serde.reachable() is True

    slow.failures = [SchemaRegistryError(503, 50301, "down for maintenance")]
    assert await serde.reachable() is False

    slow.hold_s = 10.0
    started = time.monotonic()
    assert await serde.reachable(timeout_s=0.2) is False
    assert time.monotonic() - started < 0.7
