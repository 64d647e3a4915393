"""Quix Streams (on confluent-kafka): system `quix`.

Quix's idiom: an `Application` (consumer group, offset reset), topics declared with
`app.topic(...)` and their serializers, a `StreamingDataFrame` built with
`app.dataframe(topic)`, per-record functions added with `.apply`/`.update`, and
`.to_topic(output)`; `app.run()` drives the poll -> process -> produce loop in one thread.
Quix has its own Avro support through the registry (`quixstreams.models.serializers.avro`;
its serializer delegates to confluent's `AvroSerializer`, configured here with
`subject_name_strategy=topic_subject_name_strategy` and auto-registration), so that is used.
The slow handler is synchronous, as Quix's processing functions are: `time.sleep` in the
apply callback, so records are processed one at a time.

How it stops and what is counted: `app.run(count=<count>)` is Quix's documented stop
condition (after that many outputs), and `app.stop()` from a timer thread is its documented
way to stop early (at `timeout_s`). Quix does not wait for each produced record: it flushes
the producer and commits offsets at each checkpoint (every `commit_interval`, 5 s by default,
and when it stops), and `run()` raises if a record could not be delivered. So outputs are
counted as they are produced, and they are known to be acknowledged once `run()` has returned
(its final checkpoint flushed them); the measured window therefore ends when `run()` returns,
which includes that final flush and the consumer's close (about 15 ms here). When stopped
early (timeout or SIGTERM) the window ends at the last output produced instead.
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
import time
from typing import Any

from confluent_kafka.schema_registry import topic_subject_name_strategy
from quixstreams import Application
from quixstreams.models.serializers.avro import AvroDeserializer, AvroSerializer
from quixstreams.models.serializers.schema_registry import (
    SchemaRegistryClientConfig,
    SchemaRegistrySerializationConfig,
)

from bench.peers.common import (
    LOGLEVEL,
    SCHEMA_NAMES,
    Config,
    Stats,
    emit,
    job_result,
    log,
    now_us,
    parse_args,
    schema_str,
)

SYSTEMS = ("quix",)


def run(workload: str, config: Config, stats: Stats, state_dir: str) -> None:
    app = Application(
        broker_address=config.bootstrap,
        consumer_group=config.group,
        auto_offset_reset="earliest",
        state_dir=state_dir,
        loglevel=LOGLEVEL,  # type: ignore[arg-type]
    )
    registry = SchemaRegistryClientConfig(url=config.registry_url)
    source = app.topic(
        config.source, key_deserializer="bytes",
        value_deserializer=AvroDeserializer(schema_registry_client_config=registry),
    )  # fmt: skip
    output = app.topic(
        config.output, key_serializer="bytes",
        value_serializer=AvroSerializer(
            json.loads(schema_str(SCHEMA_NAMES[workload][1])),
            schema_registry_client_config=registry,
            schema_registry_serialization_config=SchemaRegistrySerializationConfig(
                auto_register_schemas=True, subject_name_strategy=topic_subject_name_strategy,
            ),
        ),
    )  # fmt: skip

    produced = 0
    last_output = (0.0, 0.0)  # (perf_counter, process_time) when the last output was produced

    def consumed(_: dict[str, Any]) -> None:
        stats.consumed()

    def handle_job(job: dict[str, Any]) -> dict[str, Any]:
        started_at_us = now_us()
        time.sleep(job["delay_ms"] / 1000)
        return job_result(job, started_at_us, config.system)

    def count_output(_: dict[str, Any]) -> None:
        nonlocal produced, last_output
        produced += 1
        last_output = (time.perf_counter(), time.process_time())

    sdf = app.dataframe(source)
    sdf = sdf.update(consumed)
    if workload == "slow":
        sdf = sdf.apply(handle_job)
    sdf = sdf.to_topic(output)
    sdf = sdf.update(count_output)

    timer = threading.Timer(config.timeout_s, app.stop)
    timer.daemon = True
    timer.start()
    try:
        app.run(count=config.count, collect=False)
    except Exception:
        log.exception("quix: run() failed; its outputs are not known to be acknowledged")
        return
    finally:
        timer.cancel()
    if produced >= config.count:
        stats.acked(produced)  # now: run() returned, so its final checkpoint flushed them
        log.info(
            "quix: run() returned %.3fs after the last output was produced",
            time.perf_counter() - last_output[0],
        )
    elif produced:
        # stopped early (timeout or SIGTERM), possibly long after the last output: they were
        # flushed at the stop, but sent as they were produced, so end the window there
        stats.acked(produced, at=last_output)


def main(argv: list[str]) -> None:
    workload, config = parse_args(argv, SYSTEMS)
    stats = Stats(config.system, workload, config.count)
    with tempfile.TemporaryDirectory(prefix="bench-quix-") as state_dir:
        run(workload, config, stats, state_dir)
    emit(stats.result())


if __name__ == "__main__":
    main(sys.argv[1:])
