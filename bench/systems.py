"""hivebus and the two raw confluent-kafka loops, behind the runner protocol of bench/peers.

`python -m bench.systems <workload> '<config json>'` with `system` one of raw-bytes, raw-avro,
hivebus (also -unordered, -eos, -audit); workloads `passthrough` (Payment in, Payment out)
and `slow` (Job in, wait delay_ms, JobResult out). One system per subprocess, so none
inherits another's threads or caches. The last stdout line is the JSON result: events,
seconds from the first record consumed to the last output acknowledged, process CPU seconds
in that window, finished.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.schema_registry import topic_subject_name_strategy
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from bench.contracts import RESULT_STR, SCHEMA_STR, Job, JobResult, Payment
from hivebus import Agent, Audit, Context
from hivebus.contracts import registry_client
from hivebus.kafka.config import consumer_config, producer_config
from hivebus.runtime import Worker
from hivebus.runtime.worker import tune_gc


def now_us() -> int:
    return time.time_ns() // 1000


class _Clock:
    """First record consumed to last output acknowledged, in wall and CPU seconds: the
    process's, and the calling thread's (start and result on one thread: the event loop's,
    where a Python pipeline spends its time)."""

    def __init__(self) -> None:
        self.started = self.cpu = self.thread = 0.0

    def start(self) -> None:
        if not self.started:
            self.started, self.cpu = time.perf_counter(), time.process_time()
            self.thread = time.thread_time()

    def result(self, config: dict[str, Any], events: int) -> dict[str, Any]:
        return {
            "system": config["system"], "workload": config["workload"], "events": events,
            "seconds": time.perf_counter() - self.started if self.started else 0.0,
            "cpu_seconds": time.process_time() - self.cpu if self.started else 0.0,
            "thread_cpu_seconds": time.thread_time() - self.thread if self.started else 0.0,
            "finished": events >= config["count"],
        }  # fmt: skip


def raw(config: dict[str, Any]) -> dict[str, Any]:
    """What a careful user writes by hand: one consumer loop, batches, async commits.

    `slow` runs the jobs one after another, as such a loop does (no concurrency).
    """
    avro = config["system"] == "raw-avro"
    consumer = Consumer(consumer_config(config["group"]))
    producer = Producer(producer_config(config["system"]))
    registry = registry_client(config["registry_url"])
    deserialize = AvroDeserializer(registry)
    out_schema = RESULT_STR if config["workload"] == "slow" else SCHEMA_STR
    strategy = {"subject.name.strategy": topic_subject_name_strategy}
    serialize = AvroSerializer(registry, out_schema, conf=strategy)
    source_ctx = SerializationContext(config["source"], MessageField.VALUE)
    output_ctx = SerializationContext(config["output"], MessageField.VALUE)
    clock, acked, seen = _Clock(), 0, 0
    count, deadline = config["count"], time.monotonic() + config["timeout_s"]

    def delivered(error: Any, message: Any) -> None:
        nonlocal acked
        acked += error is None

    consumer.subscribe([config["source"]])
    last_commit = time.monotonic()
    while acked < count and time.monotonic() < deadline:
        first = consumer.poll(0.1)  # wait for one record, then drain what is already fetched
        messages = [first, *consumer.consume(499, 0)] if first is not None else []
        if messages:
            clock.start()
        for message in messages:
            if message.error():
                continue
            value = message.value()
            if config["workload"] == "slow":
                job = deserialize(value, source_ctx)
                started = now_us()
                time.sleep(job["delay_ms"] / 1000)
                result = {
                    "id": job["id"], "key": job["key"], "seq": job["seq"],
                    "sent_at_us": job["sent_at_us"], "started_at_us": started,
                    "system": config["system"],
                }  # fmt: skip
                value = serialize(result, output_ctx)
            elif avro:
                value = serialize(deserialize(value, source_ctx), output_ctx)
            producer.produce(config["output"], value, key=message.key(), on_delivery=delivered)
            producer.poll(0)
            seen += 1
        if messages and time.monotonic() - last_commit > 0.5:
            last = messages[-1]
            tp = TopicPartition(last.topic(), last.partition(), last.offset() + 1)
            consumer.commit(offsets=[tp], asynchronous=True)
            last_commit = time.monotonic()
        if seen >= count:
            producer.flush(60)
    producer.flush(10)
    result = clock.result(config, acked)
    consumer.close()
    return result


def hivebus_agent(config: dict[str, Any]) -> dict[str, Any]:
    """The hivebus agent a user would write for each workload."""
    ordering = "unordered" if config["system"] == "hivebus-unordered" else "key"
    guarantee = "exactly_once" if config["system"] == "hivebus-eos" else "at_least_once"
    audited = config["system"] == "hivebus-audit"
    agent = Agent(
        config["group"], max_in_flight=config.get("concurrency", 256), ordering=ordering,
        guarantee=guarantee, middleware=[Audit(topic=config["audit_topic"])] if audited else [],
    )  # fmt: skip
    clock = _Clock()
    system = config["system"]

    if config["workload"] == "slow":

        @agent.on(config["source"], Job, output=config["output"])
        async def slow(job: Job, ctx: Context) -> JobResult:
            clock.start()
            started = now_us()
            await asyncio.sleep(job.delay_ms / 1000)  # the LLM call
            return JobResult(
                id=job.id, key=job.key, seq=job.seq, sent_at_us=job.sent_at_us,
                started_at_us=started, system=system,
            )  # fmt: skip

    else:

        @agent.on(config["source"], Payment, output=config["output"])
        def passthrough(payment: Payment, ctx: Context) -> Payment:
            clock.start()
            return payment

    tune_gc()  # as `hivebus run` does

    async def main() -> dict[str, Any]:
        stop = asyncio.Event()
        worker = Worker([agent], heartbeat_s=30)
        task = asyncio.create_task(worker.run(stop))
        deadline = time.monotonic() + config["timeout_s"]
        output = config["output"]  # (an audited agent also produces its audit)

        def produced() -> int:
            return worker.runners[0].stats.produced.get(output, 0) if worker.runners else 0

        while time.monotonic() < deadline:
            if produced() >= config["count"]:
                break
            if task.done():
                task.result()
            await asyncio.sleep(0.002)
        result = clock.result(config, produced())
        stop.set()
        await task
        return result

    return asyncio.run(main())


def main() -> None:
    workload, config = sys.argv[1], json.loads(sys.argv[2])
    config["workload"] = workload
    config.setdefault("timeout_s", 600)
    if config["system"] == "raw-bytes" and workload == "slow":
        result = {
            "system": "raw-bytes", "workload": workload,
            "unsupported": "a bytes-only loop cannot read delay_ms; raw-avro is the raw baseline",
        }  # fmt: skip
    elif config["system"] in ("raw-bytes", "raw-avro"):
        result = raw(config)
    elif config["system"] in ("hivebus", "hivebus-unordered", "hivebus-eos", "hivebus-audit"):
        result = hivebus_agent(config)
    else:
        raise SystemExit(f"unknown system {config['system']}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
