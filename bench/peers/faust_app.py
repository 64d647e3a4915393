"""Faust (`faust-streaming`, on aiokafka): system `faust`.

Faust's idiom: a `faust.App` whose id is the consumer group, `faust.Record` models for the
values, topics declared with `app.topic(...)`, and an agent (`@app.agent(topic,
concurrency=N)`) that iterates its stream and sends to another topic with
`await topic.send(...)`. Faust has no Avro/schema-registry support of its own; its documented
extension point for a wire format is a custom `faust.Codec` given as the topic's
`value_serializer`, so `AvroCodec` wraps confluent's `AvroDeserializer` (input topic) and
`AvroSerializer` (output topic). `topic.send()` returns once the record is handed to the
producer, as agents normally do; its `callback=` fires when the broker acknowledges the
record, which is when an output is counted.

The agent runs `concurrency=<concurrency>` instances over the same stream (for both workloads),
which is Faust's documented way to process several events at once; it does not keep per-key
order. Faust acknowledges an event (for its periodic offset commit) once the agent has taken
the next one, which can be before the record it sent is acknowledged by the broker. The worker
is stopped the way Faust workers are stopped, by SIGTERM, here sent by the process to itself
when `count` outputs are acknowledged or `timeout_s` has passed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import tempfile
from typing import Any

import faust

from bench.peers.common import (
    LOGLEVEL,
    SCHEMA_NAMES,
    Avro,
    Config,
    Stats,
    emit,
    job_result,
    now_us,
    parse_args,
)

SYSTEMS = ("faust",)


class Payment(faust.Record, include_metadata=False):
    id: str
    account: str
    amount: float
    currency: str
    channel: str
    country: str
    merchant: str
    seq: int


class Job(faust.Record, include_metadata=False):
    id: str
    key: str
    seq: int
    delay_ms: int
    sent_at_us: int


class JobResult(faust.Record, include_metadata=False):
    id: str
    key: str
    seq: int
    sent_at_us: int
    started_at_us: int
    system: str


class AvroCodec(faust.Codec):
    """A Faust codec for Confluent wire-format Avro on one topic (the registry subject is
    derived from the topic name, so the codec is per topic)."""

    def __init__(self, avro: Avro, topic: str, stats: Stats | None = None, **kwargs: Any) -> None:
        self.avro, self.topic, self.stats = avro, topic, stats
        super().__init__(avro=avro, topic=topic, stats=stats, **kwargs)

    def _loads(self, s: bytes) -> Any:
        if self.stats is not None:
            self.stats.consumed()
        return self.avro.decode(s, self.topic)

    def _dumps(self, s: Any) -> bytes:
        return self.avro.encode(s, self.topic)


def build(workload: str, config: Config, stats: Stats, datadir: str) -> faust.App:
    avro = Avro(config.registry_url, SCHEMA_NAMES[workload][1])
    app = faust.App(
        config.group,  # the app id is the consumer group
        broker=f"kafka://{config.bootstrap}",
        store="memory://",
        datadir=datadir,
        web_enabled=False,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
    )
    value_type, out_type = (Payment, Payment) if workload == "passthrough" else (Job, JobResult)
    source = app.topic(
        config.source, key_type=bytes, value_type=value_type,
        value_serializer=AvroCodec(avro, config.source, stats),
    )  # fmt: skip
    output = app.topic(
        config.output, key_type=bytes, value_type=out_type,
        value_serializer=AvroCodec(avro, config.output),
    )  # fmt: skip

    def stop() -> None:
        os.kill(os.getpid(), signal.SIGTERM)

    def on_sent(_: Any) -> None:
        if stats.acked() and stats.events == config.count:
            stop()

    if workload == "passthrough":

        @app.agent(source, concurrency=config.concurrency)
        async def passthrough(stream: faust.StreamT[Payment]) -> None:
            async for event in stream.events():
                await output.send(key=event.key, value=event.value, callback=on_sent)

    else:

        @app.agent(source, concurrency=config.concurrency)
        async def slow(stream: faust.StreamT[Job]) -> None:
            async for event in stream.events():
                job: Job = event.value
                started_at_us = now_us()
                await asyncio.sleep(job.delay_ms / 1000)
                result = JobResult(**job_result(job.asdict(), started_at_us, config.system))
                await output.send(key=event.key, value=result, callback=on_sent)

    @app.task
    async def stop_at_timeout() -> None:
        await asyncio.sleep(config.timeout_s)
        stop()

    return app


def main(argv: list[str]) -> None:
    workload, config = parse_args(argv, SYSTEMS)
    stats = Stats(config.system, workload, config.count)
    with tempfile.TemporaryDirectory(prefix="bench-faust-") as datadir:
        app = build(workload, config, stats, datadir)
        worker = faust.Worker(
            app, loglevel=LOGLEVEL, quiet=True, redirect_stdouts=False, stdout=sys.stderr,
        )  # fmt: skip
        with contextlib.suppress(SystemExit):  # how a Faust worker ends
            worker.execute_from_commandline()
    emit(stats.result())


if __name__ == "__main__":
    main(sys.argv[1:])
