"""The FastStream application both FastStream runners build, over either of its Kafka brokers.

FastStream's idiom: a broker object, a `FastStream(broker)` application that owns its
lifecycle, a `@broker.subscriber(...)` coroutine whose body parameter is a pydantic model
(FastStream validates the decoded message into it), and a `broker.publisher(...)` object to
send to the output topic. FastStream has no Avro or schema-registry support of its own; its
documented extension point for a wire format is a custom `decoder=` on the subscriber, so the
decoder runs confluent's `AvroDeserializer` and the handler encodes with confluent's
`AvroSerializer` before publishing bytes. `await publisher.publish(...)` returns once the
broker has acknowledged the record (FastStream's default, `no_confirm=False`), which is when
an output is counted.

Default mode: one subscriber processing its messages one at a time, FastStream's default
`AckPolicy.ACK_FIRST` (the consumer's auto-commit). `-workers` mode: the same subscriber with
`max_workers=<concurrency>`, FastStream's documented concurrent mode, which (with ACK_FIRST)
hands messages from all partitions to a pool of that many concurrent handler calls.
Per-message access logs are moved to DEBUG with the broker's `log_level`, as FastStream's
logging docs describe, so that they are not written for every record.
"""

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from bench.peers.common import LOGLEVEL, SCHEMA_NAMES, Avro, Config, Stats, job_result, now_us


class Payment(BaseModel):
    id: str
    account: str
    amount: float
    currency: str
    channel: str
    country: str
    merchant: str
    seq: int


class Job(BaseModel):
    id: str
    key: str
    seq: int
    delay_ms: int
    sent_at_us: int


class JobResult(BaseModel):
    id: str
    key: str
    seq: int
    sent_at_us: int
    started_at_us: int
    system: str


def run(
    workload: str,
    config: Config,
    *,
    broker_class: Any,
    message_annotation: Any,
    message_key: Callable[[Any], bytes | None],
    concurrent: bool,
) -> dict[str, Any]:
    """Run the workload with `broker_class` (the `KafkaBroker` of `faststream.kafka` or of
    `faststream.confluent`) and its `annotations.KafkaMessage`.

    No `from __future__ import annotations` here: FastStream resolves the handlers'
    annotations at decoration time, and `KafkaMessage` is a local name.
    """
    from faststream import FastStream

    KafkaBroker, KafkaMessage = broker_class, message_annotation

    stats = Stats(config.system, workload, config.count)
    avro = Avro(config.registry_url, SCHEMA_NAMES[workload][1])
    broker = KafkaBroker(config.bootstrap, log_level=logging.DEBUG)
    app = FastStream(broker)
    publisher = broker.publisher(config.output)

    async def avro_decoder(msg: Any) -> Any:
        """FastStream custom decoder: Confluent wire-format Avro -> dict. A coroutine, since
        FastStream runs a plain function decoder in a worker thread for every message."""
        stats.consumed()
        return avro.decode(msg.body, config.source)

    async def publish(value: BaseModel, key: bytes | None) -> None:
        await publisher.publish(avro.encode(value.model_dump(), config.output), key=key)
        if stats.acked() and stats.events == config.count:
            app.exit()

    subscriber = broker.subscriber(
        config.source,
        group_id=config.group,
        auto_offset_reset="earliest",
        decoder=avro_decoder,
        max_workers=config.concurrency if concurrent else None,
    )

    if workload == "passthrough":

        @subscriber
        async def passthrough(payment: Payment, msg: KafkaMessage) -> None:
            await publish(payment, message_key(msg))

    else:

        @subscriber
        async def slow(job: Job, msg: KafkaMessage) -> None:
            started_at_us = now_us()
            await asyncio.sleep(job.delay_ms / 1000)
            result = JobResult(**job_result(job.model_dump(), started_at_us, config.system))
            await publish(result, message_key(msg))

    @app.after_startup
    async def stop_at_timeout() -> None:
        asyncio.get_running_loop().call_later(config.timeout_s, app.exit)

    asyncio.run(app.run(log_level=logging.getLevelName(LOGLEVEL)))
    return stats.result()
