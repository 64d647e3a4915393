"""The newest record of one key in a range of one partition: a stream's or a status's start.

A run's journal records are all written after its task was submitted, so the range starts at
the first record not older than the submission (less a margin for clocks that disagree),
found by `offsets_for_times`: a long-lived journal topic is not read from its beginning for
a task of a minute ago. The range ends where a follower took over.
"""

from __future__ import annotations

import time

from confluent_kafka import Consumer, TopicPartition

from hivebus.gateway.follower import reader_config
from hivebus.kafka.records import next_batch

CLOCK_MARGIN_MS = 5 * 60 * 1000
TIMEOUT_S = 60.0
BATCH, WAIT_S = 500, 0.5  # a batch is what is fetched; only the first record is waited for

Found = tuple[int, bytes | None] | None  # (offset, value) of the newest record of the key


def newest(topic: str, partition: int, key: str, since_ms: int, end: int) -> Found:
    """The newest record of `key` in `partition` from `since_ms` (a record timestamp) up to,
    not including, offset `end` (blocking)."""
    if end <= 0:
        return None
    consumer = Consumer({**reader_config("catch-up"), "enable.partition.eof": True})
    wanted, found = key.encode(), None
    try:
        [start] = consumer.offsets_for_times(
            [TopicPartition(topic, partition, max(since_ms - CLOCK_MARGIN_MS, 0))], timeout=10
        )
        if start.offset < 0 or start.offset >= end:  # nothing written since then
            return None
        consumer.assign([TopicPartition(topic, partition, start.offset)])
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            for message in next_batch(consumer, BATCH, WAIT_S):
                if message.error() is None and message.offset() < end and message.key() == wanted:
                    found = (message.offset(), message.value())
            [position] = consumer.position([TopicPartition(topic, partition)])
            if position.offset >= end:
                return found
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {topic}[{partition}] up to {end} took too long")
    finally:
        consumer.close()
