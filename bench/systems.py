"""The systems under test, each a consume -> (decode, encode) -> produce loop over one topic.

Run one per subprocess (`python -m bench.systems <system> <in> <out> <count>`), so no system
inherits another's threads or caches. Each prints one JSON line: seconds from the first record
consumed to the last output acknowledged, and the process CPU seconds in that window.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.schema_registry import topic_subject_name_strategy
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from bench.contracts import SCHEMA_STR, Payment
from hivebus import Agent, Context
from hivebus.contracts import registry_client
from hivebus.kafka.config import consumer_config, producer_config
from hivebus.runtime import Worker
from hivebus.runtime.worker import tune_gc


def raw(source: str, output: str, count: int, avro: bool) -> dict[str, Any]:
    """What a careful user writes by hand: batches, async commits, delivery-counted end."""
    consumer = Consumer(consumer_config(f"bench-raw-{uuid.uuid4().hex[:8]}"))
    producer = Producer(producer_config("bench-raw"))
    registry = registry_client()
    deserialize = AvroDeserializer(registry)
    serialize = AvroSerializer(
        registry, SCHEMA_STR, conf={"subject.name.strategy": topic_subject_name_strategy}
    )
    source_ctx = SerializationContext(source, MessageField.VALUE)
    output_ctx = SerializationContext(output, MessageField.VALUE)
    acked = 0

    def delivered(error: Any, message: Any) -> None:
        nonlocal acked
        if error is None:
            acked += 1

    consumer.subscribe([source])
    started = cpu = 0.0
    seen = 0
    last_commit = time.monotonic()
    while acked < count:
        messages = consumer.consume(500, 0.1)
        if messages and not started:
            started, cpu = time.perf_counter(), time.process_time()
        for message in messages:
            if message.error():
                continue
            value = message.value()
            if avro:
                value = serialize(deserialize(value, source_ctx), output_ctx)
            producer.produce(output, value, key=message.key(), on_delivery=delivered)
            seen += 1
        producer.poll(0)
        if messages and time.monotonic() - last_commit > 0.5:
            last = messages[-1]
            consumer.commit(
                offsets=[TopicPartition(last.topic(), last.partition(), last.offset() + 1)],
                asynchronous=True,
            )
            last_commit = time.monotonic()
        if seen >= count:
            producer.flush(60)
    elapsed, cpu_used = time.perf_counter() - started, time.process_time() - cpu
    consumer.close()
    return {"seconds": elapsed, "cpu_seconds": cpu_used, "events": acked}


def hivebus_agent(source: str, output: str, count: int) -> dict[str, Any]:
    agent = Agent(f"bench-hivebus-{uuid.uuid4().hex[:8]}", max_in_flight=512)
    clock: dict[str, float] = {}

    @agent.on(source, Payment, output=output)
    def passthrough(payment: Payment, ctx: Context) -> Payment:
        if not clock:
            clock["started"], clock["cpu"] = time.perf_counter(), time.process_time()
        return payment

    tune_gc()  # as `hivebus run` does

    async def main() -> dict[str, Any]:
        stop = asyncio.Event()
        worker = Worker([agent], heartbeat_s=30)
        task = asyncio.create_task(worker.run(stop))
        while not worker.runners or worker.runners[0].dispatcher.stats.produced_total < count:
            if task.done():
                task.result()
            await asyncio.sleep(0.002)
        elapsed = time.perf_counter() - clock["started"]
        cpu_used = time.process_time() - clock["cpu"]
        stop.set()
        await task
        return {"seconds": elapsed, "cpu_seconds": cpu_used, "events": count}

    return asyncio.run(main())


def main() -> None:
    system, source, output, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    if system == "raw-bytes":
        result = raw(source, output, count, avro=False)
    elif system == "raw-avro":
        result = raw(source, output, count, avro=True)
    elif system == "hivebus":
        result = hivebus_agent(source, output, count)
    else:
        raise SystemExit(f"unknown system {system}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
