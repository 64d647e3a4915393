"""Workload (a): pass-through — consume, decode, produce one event per input, encode.

The same pre-loaded input topic is read by every system (each with its own consumer group
and output topic), one system per subprocess, rounds alternating so drift on this noisy
machine hits every system alike. Reported: events/s, CPU seconds per 1,000 events, medians.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import uuid
from typing import Any

from confluent_kafka import Producer
from confluent_kafka.schema_registry import topic_subject_name_strategy
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from bench.contracts import SCHEMA_STR, payment
from hivebus.contracts import registry_client
from hivebus.kafka.admin import TopicSpec, admin_client, ensure_topics
from hivebus.kafka.config import producer_config

SYSTEMS = ("raw-bytes", "raw-avro", "hivebus")


def preload(topic: str, count: int, partitions: int, keys: int) -> None:
    ensure_topics(admin_client(), [TopicSpec(topic, partitions=partitions)])
    serializer = AvroSerializer(
        registry_client(), SCHEMA_STR, conf={"subject.name.strategy": topic_subject_name_strategy}
    )
    context = SerializationContext(topic, MessageField.VALUE)
    producer = Producer(producer_config("bench-preload"))
    for i in range(count):
        value = payment(i, keys)
        while True:
            try:
                producer.produce(topic, serializer(value, context), key=str(value["account"]))
                break
            except BufferError:
                producer.poll(0.1)
        if i % 10_000 == 0:
            producer.poll(0)
    producer.flush(120)


def run(
    count: int, rounds: int, partitions: int = 3, keys: int = 10_000, say: Any = print
) -> dict[str, Any]:
    topic = f"bench.passthrough.{uuid.uuid4().hex[:8]}"
    say(
        f"(a) pass-through: preloading {count:,} Avro events into {topic} ({partitions} partitions)"
    )
    preload(topic, count, partitions, keys)
    ensure_topics(
        admin_client(), [TopicSpec(f"{topic}.{s}", partitions=partitions) for s in SYSTEMS]
    )
    runs: dict[str, list[dict[str, float]]] = {s: [] for s in SYSTEMS}
    for round_no in range(1, rounds + 1):
        for system in SYSTEMS:
            command = [sys.executable, "-m", "bench.systems", system, topic, f"{topic}.{system}"]
            done = subprocess.run(
                [*command, str(count)], capture_output=True, text=True, timeout=900, check=False
            )
            if done.returncode != 0:
                raise RuntimeError(f"{system} failed:\n{done.stderr[-2000:]}")
            result = json.loads(done.stdout.strip().splitlines()[-1])
            runs[system].append(result)
            rate = result["events"] / result["seconds"]
            say(f"    round {round_no} {system:<10} {rate:>9,.0f} events/s  "
                f"{1000 * result['cpu_seconds'] / result['events']:.3f} CPU s per 1k")  # fmt: skip
    summary = {}
    for system, results in runs.items():
        summary[system] = {
            "events_per_s": statistics.median(r["events"] / r["seconds"] for r in results),
            "cpu_s_per_1k": statistics.median(
                1000 * r["cpu_seconds"] / r["events"] for r in results
            ),
            "us_per_event": statistics.median(1e6 * r["seconds"] / r["events"] for r in results),
        }
    for system in SYSTEMS:
        summary[system]["vs_raw_avro"] = (
            summary[system]["events_per_s"] / summary["raw-avro"]["events_per_s"]
        )
        summary[system]["vs_raw_bytes"] = (
            summary[system]["events_per_s"] / summary["raw-bytes"]["events_per_s"]
        )
    return {
        "workload": "pass-through",
        "count": count,
        "rounds": rounds,
        "partitions": partitions,
        "systems": summary,
    }
