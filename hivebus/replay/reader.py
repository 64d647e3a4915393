"""Reading fixed offset ranges with `assign()`: no consumer group is joined, nothing is
committed, so reading history changes no group's offsets and no live agent notices.

Reading stops per partition at its end offset, or at its end of log (transaction markers and
aborted records are never delivered, so the last offset of a range may never be seen).
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterable

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from hivebus.errors import HivebusError
from hivebus.kafka.connection import connection_settings
from hivebus.kafka.records import Consumed, consumed
from hivebus.replay.ranges import Partition, Range

IDLE_TIMEOUT_S = 60.0  # no record and no end of log for this long: the cluster is not answering


class BoundedReader:
    """Batches of the records in `ranges`, optionally only those timestamped in
    [`start_ms`, `end_ms`); `done` once every range is read."""

    def __init__(
        self,
        ranges: Iterable[Range],
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
        batch_size: int = 500,
        idle_timeout_s: float = IDLE_TIMEOUT_S,
    ) -> None:
        self._open: dict[Partition, Range] = {(r.topic, r.partition): r for r in ranges if r.size}
        self._start_ms, self._end_ms = start_ms, end_ms
        self._batch_size = batch_size
        self._idle_timeout_s = idle_timeout_s
        self._heard = time.monotonic()
        self.outside = 0  # records in a range whose timestamp is outside the times
        self.consumer = Consumer({
            **connection_settings("consumer"),
            # Required by the client, never used: assign() joins no group, and nothing commits.
            "group.id": f"hivebus-replay-reader-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "enable.partition.eof": True,
            "isolation.level": "read_committed",
        })  # fmt: skip
        if self._open:
            self.consumer.assign(
                [TopicPartition(t, p, r.start) for (t, p), r in self._open.items()]
            )

    @property
    def done(self) -> bool:
        return not self._open

    def batch(self, timeout_s: float = 0.2) -> list[Consumed]:
        """The next records in range (maybe none); raises when the cluster stops answering."""
        if not self._open:
            return []
        messages = self.consumer.consume(self._batch_size, timeout_s)
        kept: list[Message] = []
        for message in messages:
            where = (message.topic() or "", message.partition() or 0)
            span = self._open.get(where)
            if span is None:
                continue
            error = message.error()
            if error is not None:
                self._heard = time.monotonic()
                if error.code() == KafkaError._PARTITION_EOF:
                    self._close(where)
                elif error.fatal() or error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
                    raise HivebusError(f"reading {where[0]}[{where[1]}] failed: {error.str()}")
                continue
            self._heard = time.monotonic()
            offset = message.offset() or 0
            if offset >= span.end:
                self._close(where)
                continue
            if offset + 1 >= span.end:
                self._close(where)
            if self._in_time(message):
                kept.append(message)
            else:
                self.outside += 1
        if not messages and time.monotonic() - self._heard > self._idle_timeout_s:
            left = ", ".join(f"{t}[{p}]" for t, p in self._open)
            raise HivebusError(
                f"no record arrived for {self._idle_timeout_s:g} s while reading {left}"
            )
        return consumed(kept)

    def close(self) -> None:
        self.consumer.close()

    def _in_time(self, message: Message) -> bool:
        stamp = message.timestamp()[1]
        if self._start_ms is not None and stamp < self._start_ms:
            return False
        return self._end_ms is None or stamp < self._end_ms

    def _close(self, where: Partition) -> None:
        del self._open[where]
        with contextlib.suppress(KafkaException):  # nothing more is kept from it anyway
            self.consumer.pause([TopicPartition(*where)])
