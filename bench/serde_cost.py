"""Workload (c): what a contract costs per event — Avro through the registry against JSON.

In-process (no broker): encode then decode one 8-field Payment, many times, per approach;
best of five repetitions. Ratios are against plain `json` on dicts.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from confluent_kafka.schema_registry import topic_subject_name_strategy
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from bench.contracts import SCHEMA_STR, Payment, payment
from hivebus.contracts import Serde, registry_client


def run(*, quick: bool, say: Any = print) -> dict[str, Any]:
    n = 5_000 if quick else 20_000
    registry = registry_client()
    record = Payment(**payment(1, 10))
    data = record.model_dump()
    topic = "bench.serde-cost"
    encoder = Serde(registry).encoder(topic, Payment)
    serde = Serde(registry)
    serializer = AvroSerializer(
        registry, SCHEMA_STR, conf={"subject.name.strategy": topic_subject_name_strategy}
    )
    deserializer = AvroDeserializer(registry)
    context = SerializationContext(topic, MessageField.VALUE)
    approaches: dict[str, Callable[[], object]] = {
        "json (dict, json module)": lambda: json.loads(json.dumps(data)),
        "json (pydantic model)": lambda: Payment.model_validate_json(record.model_dump_json()),
        "avro + registry (hivebus Serde, model)": lambda: serde.decode(
            encoder.encode(record), Payment
        ),
        "avro + registry (confluent serde, dict)": lambda: deserializer(
            serializer(data, context), context
        ),
    }
    results = {}
    for name, fn in approaches.items():
        results[name] = _best_us(fn, n)
        say(f"    (c) {name:<42} {results[name]:6.2f} µs per event (encode + decode)")
    base = results["json (dict, json module)"]
    return {
        "workload": "contracts",
        "iterations": n,
        "us_per_event": results,
        "vs_json": {name: value / base for name, value in results.items()},
    }


def _best_us(fn: Callable[[], object], n: int) -> float:
    fn()
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - started) / n * 1e6)
    return best
