"""Putting benchmark input on topics: preloaded backlogs and a steady stream at a fixed rate."""

from __future__ import annotations

import math
import random
import time
import uuid
from collections.abc import Iterable

from confluent_kafka import Producer

from bench.contracts import Job, Payment, payment
from hivebus.contracts import Serde, registry_client
from hivebus.kafka.admin import TopicSpec, admin_client, ensure_topics
from hivebus.kafka.config import producer_config


def topic(prefix: str, partitions: int) -> str:
    name = f"bench.{prefix}.{uuid.uuid4().hex[:8]}"
    ensure_topics(admin_client(), [TopicSpec(name, partitions=partitions)])
    return name


def now_us() -> int:
    return time.time_ns() // 1000


def preload_payments(name: str, count: int, keys: int) -> None:
    encoder = Serde(registry_client()).encoder(name, Payment)
    _send(
        name,
        (
            (str(p["account"]), encoder.encode(Payment(**p)))
            for p in (payment(i, keys) for i in range(count))
        ),
    )


def lognormal_ms(
    rng: random.Random, median_ms: float, sigma: float = 0.6, cap_ms: int = 5000
) -> int:
    """LLM-like latency: lognormal around `median_ms`, long right tail, capped."""
    return min(cap_ms, max(1, int(median_ms * math.exp(rng.gauss(0, sigma)))))


def jobs(count: int, keys: int, median_ms: float, seed: int = 7) -> list[Job]:
    rng = random.Random(seed)
    per_key: dict[str, int] = {}
    result = []
    for i in range(count):
        key = f"key-{rng.randrange(keys):04d}"
        seq = per_key[key] = per_key.get(key, -1) + 1
        result.append(
            Job(
                id=f"job-{i:06d}",
                key=key,
                seq=seq,
                delay_ms=lognormal_ms(rng, median_ms),
                sent_at_us=0,
            )
        )
    return result


def preload_jobs(name: str, batch: list[Job]) -> None:
    encoder = Serde(registry_client()).encoder(name, Job)
    stamp = now_us()
    _send(
        name,
        ((job.key, encoder.encode(job.model_copy(update={"sent_at_us": stamp}))) for job in batch),
    )


def stream_jobs(name: str, batch: list[Job], rate_per_s: float) -> None:
    """Publish at a steady rate, each stamped with its own send time."""
    encoder = Serde(registry_client()).encoder(name, Job)
    producer = Producer({**producer_config("bench-stream"), "linger.ms": 0})
    started = time.perf_counter()
    for i, job in enumerate(batch):
        wait = started + i / rate_per_s - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        value = encoder.encode(job.model_copy(update={"sent_at_us": now_us()}))
        producer.produce(name, value, key=job.key)
        producer.poll(0)
    producer.flush(30)


def _send(name: str, records: Iterable[tuple[str, bytes]]) -> None:
    producer = Producer(producer_config("bench-preload"))
    for i, (key, value) in enumerate(records):
        while True:
            try:
                producer.produce(name, value, key=key)
                break
            except BufferError:
                producer.poll(0.1)
        if i % 10_000 == 0:
            producer.poll(0)
    producer.flush(120)
