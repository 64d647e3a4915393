"""Putting benchmark input on topics: preloaded backlogs and a steady stream at a fixed rate.

A `Feeder` keeps one producer for a whole measurement: the warm-up job pays for its start-up
(connections, the idempotent producer id), so the measured input is stamped and sent by a
producer that is already running.
"""

from __future__ import annotations

import contextlib
import math
import random
import time
import uuid
from collections.abc import Iterable

from confluent_kafka import Producer

from bench.contracts import Job, Payment, payment
from hivebus.contracts import Encoder, Record, Serde, registry_client
from hivebus.kafka.admin import TopicSpec, admin_client, ensure_topics
from hivebus.kafka.config import producer_config


def topic(prefix: str, partitions: int) -> str:
    name = f"bench.{prefix}.{uuid.uuid4().hex[:8]}"
    ensure_topics(admin_client(), [TopicSpec(name, partitions=partitions)])
    return name


def delete_topics(*names: str) -> None:
    """Remove a measurement's topics, so the broker does not carry them into the next one."""
    for future in admin_client().delete_topics(list(names), operation_timeout=30).values():
        with contextlib.suppress(Exception):  # already gone is fine
            future.result(30)


def now_us() -> int:
    return time.time_ns() // 1000


def lognormal_ms(rng: random.Random, median_ms: float, sigma: float = 0.6, cap: int = 5000) -> int:
    """LLM-like latency: lognormal around `median_ms`, long right tail, capped."""
    return min(cap, max(1, int(median_ms * math.exp(rng.gauss(0, sigma)))))


def jobs(count: int, keys: int, median_ms: float, seed: int = 7) -> list[Job]:
    rng = random.Random(seed)
    per_key: dict[str, int] = {}
    result = []
    for i in range(count):
        key = f"key-{rng.randrange(keys):04d}"
        seq = per_key[key] = per_key.get(key, -1) + 1
        delay = lognormal_ms(rng, median_ms)
        result.append(Job(id=f"job-{i:06d}", key=key, seq=seq, delay_ms=delay, sent_at_us=0))
    return result


class Feeder:
    def __init__(self) -> None:
        self._serde = Serde(registry_client())
        # Uncompressed: the input is not what is measured, and every consumer can read it
        # (aiokafka, under FastStream and Faust, has no lz4 codec unless one is installed).
        self._producer = Producer(
            {**producer_config("bench-feed"), "linger.ms": 0, "compression.type": "none"}
        )
        self._encoders: dict[tuple[str, type[Record]], Encoder] = {}

    def preload_payments(self, name: str, count: int, keys: int) -> None:
        encoder = self._encoder(name, Payment)
        records = (payment(i, keys) for i in range(count))
        self._send(name, ((str(p["account"]), encoder.encode(Payment(**p))) for p in records))

    def preload_jobs(self, name: str, batch: list[Job]) -> None:
        """All of `batch` at once, stamped with one send time."""
        encoder = self._encoder(name, Job)
        values = [(job.key, job.model_copy()) for job in batch]
        stamp = now_us()
        for _, job in values:
            job.sent_at_us = stamp
        self._send(name, ((key, encoder.encode(job)) for key, job in values))

    def stream_jobs(self, name: str, batch: list[Job], rate_per_s: float) -> None:
        """At a steady rate, each stamped with its own send time."""
        encoder = self._encoder(name, Job)
        started = time.perf_counter()
        for i, job in enumerate(batch):
            wait = started + i / rate_per_s - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            value = encoder.encode(job.model_copy(update={"sent_at_us": now_us()}))
            self._producer.produce(name, value, key=job.key)
            self._producer.poll(0)
        self._producer.flush(30)

    def _encoder(self, name: str, model: type[Record]) -> Encoder:
        if (name, model) not in self._encoders:
            self._encoders[name, model] = self._serde.encoder(name, model)
        return self._encoders[name, model]

    def _send(self, name: str, records: Iterable[tuple[str, bytes]]) -> None:
        producer = self._producer
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
