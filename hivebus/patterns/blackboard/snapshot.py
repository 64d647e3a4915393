"""Reading boards from the compacted state topic: the newest version of each, per partition.

The state topic is keyed by board id and compacted, so its newest record per key is the
board as it is, and reading a partition from its start to its end is a snapshot of every
board on it: what the keeper restores on assignment, what a contributor catches up with, and
what a late joiner (a tool, a dashboard, a test) reads instead of replaying every post.
It reads `read_committed`: a keeper's uncommitted (or aborted) versions are never seen, so
a snapshot never shows a version that a crash took back.
"""

from __future__ import annotations

import time
import uuid

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

from hivebus.contracts import Serde
from hivebus.errors import HivebusError
from hivebus.kafka.connection import connection_settings
from hivebus.kafka.records import watermarks
from hivebus.patterns.blackboard.records import BoardState

READ_TIMEOUT_S = 60.0  # an open transaction of a killed keeper holds the end back ~10 s


class BoardsMisplaced(HivebusError):
    """The posts and state topics differ in partitions: a board's versions are not on the
    partition number of its posts, so a keeper could not find them again."""


def read_boards(
    serde: Serde, topic: str, partitions: list[int] | None = None, *, beside: str | None = None
) -> dict[str, BoardState]:
    """The newest state of every board in `partitions` of `topic` (all of them by default),
    each read to the end it had when the read began (blocking). With `beside` (the posts
    topic), first check that it has as many partitions as `topic`."""
    consumer = Consumer({
        **connection_settings("consumer"),
        "group.id": f"hivebus-board-reader-{uuid.uuid4().hex[:8]}",
        "enable.auto.commit": False,
        "enable.partition.eof": True,
        "isolation.level": "read_committed",
        "fetch.wait.max.ms": 10,
    })  # fmt: skip
    boards: dict[str, BoardState] = {}
    try:
        if beside is not None:
            _check_beside(consumer, topic, beside)
        if partitions is None:
            partitions = _partitions(consumer, topic)
        for partition in partitions:
            boards.update(_read(consumer, serde, topic, partition))
    finally:
        consumer.close()
    return boards


def _read(consumer: Consumer, serde: Serde, topic: str, partition: int) -> dict[str, BoardState]:
    where = TopicPartition(topic, partition)
    low, high = watermarks(consumer, where, 10)
    boards: dict[str, BoardState] = {}
    if high <= low:
        return boards
    consumer.assign([TopicPartition(topic, partition, OFFSET_BEGINNING)])
    deadline = time.monotonic() + READ_TIMEOUT_S
    try:
        while True:
            message = consumer.poll(0.5)
            error = message.error() if message is not None else None
            if message is None or error is not None:
                if error is not None and error.code() != KafkaError._PARTITION_EOF:
                    raise RuntimeError(f"reading {topic}[{partition}]: {error.str()}")
                [position] = consumer.position([where])
                if position.offset >= high:
                    return boards
                if time.monotonic() > deadline:
                    raise TimeoutError(f"reading {topic}[{partition}] to offset {high} took "
                                       f"more than {READ_TIMEOUT_S:g} s")  # fmt: skip
                continue
            key, value = (message.key() or b"").decode(), message.value()
            if value is None:  # a tombstone: the board was removed
                boards.pop(key, None)
            else:
                boards[key] = serde.decode(value, BoardState)
            if (message.offset() or 0) + 1 >= high:
                return boards
    finally:
        consumer.unassign()


def _check_beside(consumer: Consumer, topic: str, posts: str) -> None:
    have, want = len(_partitions(consumer, topic)), len(_partitions(consumer, posts))
    if have != want:
        raise BoardsMisplaced(
            f"{posts} has {want} partition(s) and {topic} {have}: they must have as many, so "
            "a board's versions are beside its posts. Were they created by hand, or auto-"
            "created by a publisher before the keeper ran? Recreate them both with "
            "Blackboard.topic_specs(), then replay the dead-lettered posts"
        )


def _partitions(consumer: Consumer, topic: str) -> list[int]:
    found = consumer.list_topics(topic, timeout=10).topics.get(topic)
    if found is None or found.error is not None:
        return []
    return sorted(found.partitions)
