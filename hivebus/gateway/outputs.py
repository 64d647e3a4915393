"""A finished run's result: the events it published, read back from the agent's output topics.

A run's events go out when it completes, just before (or in the same transaction as) the
journal write that says `completed`, by the same worker; each carries `ce_runid` = the run
id. So they are found in a short window of the agent's outputs before the completion time,
read once per task, however many of its streams ask at the same moment, and kept. Requests
the run sent to other agents (`ctx.call`) carry the run id too; their `ce_id` is a call id
(`call:...`), and they are left out.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from confluent_kafka import Consumer, TopicPartition

from hivebus.contracts import Serde, lineage
from hivebus.gateway.follower import reader_config
from hivebus.kafka.records import Consumed, next_batch

WINDOW_MS = 60_000  # before the completion, as the worker's clock stamped both
TIMEOUT_S = 30.0
BATCH, WAIT_S = 500, 0.5  # a batch is what is fetched; only the first record is waited for
KEPT = 4096
CALL = "call:"

Outputs = list[dict[str, Any]]


def find_outputs(
    serde: Serde, topics: dict[str, int], run_id: str, completed_ms: int
) -> list[dict[str, Any]]:
    """Every event run `run_id` published on `topics` (name -> partitions), in the order of
    their offsets per topic (blocking)."""
    consumer = Consumer({**reader_config("outputs"), "enable.partition.eof": True})
    found: list[dict[str, Any]] = []
    try:
        for topic, partitions in sorted(topics.items()):
            found += _read(consumer, serde, topic, partitions, run_id, completed_ms)
    finally:
        consumer.close()
    return found


def _read(
    consumer: Consumer, serde: Serde, topic: str, partitions: int, run_id: str, since_ms: int
) -> list[dict[str, Any]]:
    wanted = [TopicPartition(topic, p, since_ms - WINDOW_MS) for p in range(partitions)]
    starts = [tp for tp in consumer.offsets_for_times(wanted, timeout=10) if tp.offset >= 0]
    if not starts:
        return []
    ends = {tp.partition: consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in starts}
    consumer.assign(starts)
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        for message in next_batch(consumer, BATCH, WAIT_S):
            if message.error() is None and _is_output(message, run_id):
                found.append(_output(serde, message))
        positions = consumer.position(starts)
        if all(tp.offset >= ends[tp.partition] for tp in positions):
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"reading the outputs of {run_id} in {topic!r} took too long")
    consumer.unassign()
    return sorted(found, key=lambda o: (o["partition"], o["offset"]))


def _is_output(message: Consumed, run_id: str) -> bool:
    event_id, _, run = lineage(message.headers())
    return run == run_id and not (event_id or "").startswith(CALL)


def _output(serde: Serde, message: Consumed) -> dict[str, Any]:
    writer, value = serde.decode_any(message.value() or b"")
    key = message.key()
    return {
        "topic": message.topic(),
        "partition": message.partition(),
        "offset": message.offset(),
        "type": writer.fullname,
        "key": key.decode(errors="replace") if key else None,
        "value": jsonable(value),
    }


def jsonable(value: Any) -> Any:
    """An Avro-decoded value as JSON data: bytes one character per byte (Avro's JSON
    encoding, as inputs are given), decimals and UUIDs as strings, times in RFC 3339."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, bytes):
        try:
            return value.decode("latin-1")
        except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes every byte
            return base64.b64encode(value).decode()
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


class OutputCache:
    """Results by task id, kept once read (a finished run's outputs never change). The streams
    of one task end together, so every ask made while a read is under way waits for that
    read: N streams cause one read, not N identical ones. A failed read is not kept."""

    def __init__(self, size: int = KEPT) -> None:
        self._size = size
        self._kept: OrderedDict[str, Outputs] = OrderedDict()
        self._reading: dict[str, asyncio.Future[Outputs]] = {}

    def get(self, task_id: str) -> Outputs | None:
        return self._kept.get(task_id)

    def put(self, task_id: str, outputs: Outputs) -> None:
        self._kept[task_id] = outputs
        if len(self._kept) > self._size:
            self._kept.popitem(last=False)

    async def read_once(self, task_id: str, read: Callable[[], Awaitable[Outputs]]) -> Outputs:
        """The kept result, else that of the read under way, else of a new `read()`, whose
        error every waiter gets. An asker that goes away (its stream closed) leaves the read
        to the others: it is shielded from their cancellation."""
        if (kept := self._kept.get(task_id)) is not None:
            return kept
        reading = self._reading.get(task_id)
        if reading is None:
            reading = self._reading[task_id] = asyncio.ensure_future(read())
            reading.add_done_callback(functools.partial(self._finished, task_id))
        return await asyncio.shield(reading)

    def _finished(self, task_id: str, reading: asyncio.Future[Outputs]) -> None:
        """Kept before any waiter resumes (this callback was added first)."""
        del self._reading[task_id]
        if not reading.cancelled() and reading.exception() is None:
            self.put(task_id, reading.result())
