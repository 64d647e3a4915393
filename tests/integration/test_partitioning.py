"""hivebus producers place keys where the Java client (Kafka's reference) does: murmur2."""

from __future__ import annotations

from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient

from hivebus import Publisher
from hivebus.dev import Endpoints
from hivebus.testing.stack import unique_name
from tests.integration.conftest import create_topic
from tests.integration.runtime_contracts import Ping


def murmur2(data: bytes) -> int:
    """Kafka's `Utils.murmur2` (the Java client's default partitioner hashes keys with it)."""
    m, r = 0x5BD1E995, 24
    length = len(data)
    h = (0x9747B28C ^ length) & 0xFFFFFFFF
    for i in range(0, length - length % 4, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> r
        k = (k * m) & 0xFFFFFFFF
        h = ((h * m) & 0xFFFFFFFF) ^ k
    rest = length % 4
    tail = data[length - rest :]
    if rest == 3:
        h ^= tail[2] << 16
    if rest >= 2:
        h ^= tail[1] << 8
    if rest >= 1:
        h ^= tail[0]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h


def test_murmur2_gives_the_java_clients_values() -> None:
    signed = {  # the values Kafka's own tests expect of Utils.murmur2
        b"21": -973932308, b"foobar": -790332482, b"abc": 479470107,
        b"a-little-bit-long-string": -985981536, b"a-little-bit-longer-string": -1486304829,
        b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    }  # fmt: skip
    assert {k: murmur2(k) - (1 << 32) * (murmur2(k) >> 31) for k in signed} == signed


def java_partition(key: bytes, partitions: int) -> int:
    return (murmur2(key) & 0x7FFFFFFF) % partitions


async def test_keys_land_on_the_partition_the_java_client_would_choose(
    stack: Endpoints, admin: AdminClient
) -> None:
    topic = unique_name("partitioning")
    create_topic(admin, topic, partitions=6)
    keys = [f"run-{i}".encode() for i in range(60)] + ["café".encode(), b"\\xff\\x00"]
    async with Publisher("partitioning-test") as publisher:
        for i, key in enumerate(keys):
            await publisher.publish(topic, Ping(id=str(i), key="k", seq=i), key=key)
    consumer = Consumer({
        "bootstrap.servers": stack.bootstrap_servers,
        "group.id": unique_name("partitioning"),
        "auto.offset.reset": "earliest",
    })  # fmt: skip
    consumer.subscribe([topic])
    seen: dict[bytes, int] = {}
    try:
        while len(seen) < len(keys):
            message = consumer.poll(10)
            assert message is not None, f"read {len(seen)} of {len(keys)}"
            if message.error() is None:
                seen[message.key() or b""] = message.partition() or 0
    finally:
        consumer.close()
    assert {key: java_partition(key, 6) for key in keys} == seen
    assert len(set(seen.values())) > 1
