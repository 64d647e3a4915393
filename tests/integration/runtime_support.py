"""Shared pieces of the runtime tests: topics, a publisher, a pass-through agent."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from hivebus import Agent, Context, Publisher, Retry
from hivebus.kafka.endpoints import bootstrap_servers
from hivebus.testing.stack import unique_name
from tests.integration.conftest import create_topic
from tests.integration.runtime_contracts import Ping, Pong


def topics(admin: AdminClient, prefix: str, partitions: int = 3) -> tuple[str, str]:
    base = unique_name(prefix)
    return create_topic(admin, f"{base}.in", partitions), create_topic(
        admin, f"{base}.out", partitions
    )


def relay_agent(name: str, source: str, output: str, **options: object) -> Agent:
    agent = Agent(name, retry=Retry(attempts=3, backoff_s=0.01), **options)  # type: ignore[arg-type]

    @agent.on(source, Ping, output=output)
    async def relay(ping: Ping, ctx: Context) -> Pong:
        return Pong(id=ping.id, key=ping.key, seq=ping.seq, handled_by=ctx.agent)

    return agent


def hivebus(
    *args: str, timeout: float = 60, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real `hivebus` command line, with `env` added to this process's environment."""
    return subprocess.run(
        [sys.executable, "-m", "hivebus.cli", *args], env={**os.environ, **(env or {})},
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def pings(count: int, keys: int = 5, payload: str = "") -> list[Ping]:
    return [
        Ping(id=f"p{i}", key=f"k{i % keys}", seq=i // keys, payload=payload) for i in range(count)
    ]


async def publish(topic: str, events: list[Ping]) -> list[str]:
    async with Publisher("tests") as publisher:
        return [await publisher.publish(topic, e, key=e.key) for e in events]


def committed_offsets(group: str, topic: str, partitions: int) -> list[int]:
    """The group's committed offset of each partition, as the broker has it."""
    consumer = Consumer({"bootstrap.servers": bootstrap_servers(), "group.id": group})
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        return [tp.offset for tp in consumer.committed(tps, timeout=10)]
    finally:
        consumer.close()


def end_offset(topic: str, partition: int) -> int:
    consumer = Consumer({"bootstrap.servers": bootstrap_servers(), "group.id": "ends"})
    try:
        return int(consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)[1])
    finally:
        consumer.close()


async def until(check: Callable[[], bool], timeout_s: float = 30, every_s: float = 0.1) -> None:
    """Wait until `check()` is true; AssertionError past `timeout_s`."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(every_s)
