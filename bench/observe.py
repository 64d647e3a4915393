"""Watching a result topic: when each result became visible to a consumer, and in what order."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass

from confluent_kafka import Consumer

from bench.contracts import JobResult
from hivebus.contracts import Serde, registry_client
from hivebus.kafka.endpoints import bootstrap_servers


@dataclass(frozen=True)
class Seen:
    result: JobResult
    observed_at_us: int
    partition: int
    offset: int

    @property
    def latency_ms(self) -> float:
        return (self.observed_at_us - self.result.sent_at_us) / 1000


class Observer:
    """A consumer thread that records every JobResult on `topic` as soon as it can fetch it."""

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.seen: list[Seen] = []
        self._stop = threading.Event()
        self._assigned = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Observer:
        self._thread.start()
        self._assigned.wait(30)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def wait_for(self, count: int, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while len(self.seen) < count and time.monotonic() < deadline:
            time.sleep(0.05)

    def _run(self) -> None:
        serde = Serde(registry_client())
        consumer = Consumer({
            "bootstrap.servers": bootstrap_servers(),
            "group.id": f"bench-observer-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "fetch.wait.max.ms": 5,
            "isolation.level": "read_uncommitted",
        })  # fmt: skip
        consumer.subscribe([self.topic], on_assign=lambda c, p: self._assigned.set())
        while not self._stop.is_set():
            message = consumer.poll(0.05)
            if message is None or message.error() is not None:
                continue
            observed = time.time_ns() // 1000
            result = serde.decode(message.value() or b"", JobResult)
            self.seen.append(
                Seen(result, observed, message.partition() or 0, message.offset() or 0)
            )
        consumer.close()
