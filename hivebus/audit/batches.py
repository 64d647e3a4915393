"""Many handlings' audit events in one Kafka record: what keeps the audit cheap.

A record costs the producer, the broker and the delivery report far more than the few
hundred bytes of a decision do; on a fast pipeline one more record per event halves the
throughput. So in at-least-once mode the events of every handling that ends in one turn of
the event loop are gathered per partition of the audit topic (the partition their
correlation id, or run id, hashes to, as the producer would place it) and written as one
`AuditBatch` each, at the end of the turn, or sooner when one grows large. Each handling's
record waits for that write (`Outbox.hold`), so its offset commits only once its audit is
acknowledged, as with its own outputs.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hivebus.audit import wire
from hivebus.audit.records import AuditBatch
from hivebus.contracts import HeaderBuilder
from hivebus.kafka.partitioning import partition_of

if TYPE_CHECKING:
    from hivebus.runtime.job import Job
    from hivebus.runtime.outbox import Outbox

MAX_EVENTS = 1000
MAX_BYTES = 512 * 1024  # well under the broker's default record limit of 1 MiB


def batch_value(frame: bytes, bodies: list[bytes]) -> bytes:
    """An `AuditBatch` in wire format, from its events' Avro bodies."""
    return b"".join((frame, wire.long(len(bodies)), *bodies, wire.NULL))


@dataclass
class _Open:
    key: bytes  # the first event's: it hashes to this partition too
    jobs: list[Job] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    size: int = 0


class Batches:
    def __init__(
        self, outbox: Outbox, topic: str, partitions: int, frame: bytes, headers: HeaderBuilder
    ) -> None:
        self._outbox, self._topic, self._partitions = outbox, topic, partitions
        self._frame, self._headers = frame, headers
        self._open: dict[int, _Open] = {}
        self._loop = asyncio.get_running_loop()
        self._flushing = False

    def add(self, job: Job, key: bytes, bodies: list[bytes]) -> None:
        """Write `bodies` (one handling's events, in order) with the next batch of their
        partition; `job` settles only once it is acknowledged."""
        self._outbox.hold(job)
        partition = partition_of(key, self._partitions)
        found = self._open.get(partition)
        if found is None:
            found = self._open[partition] = _Open(key)
        found.jobs.append(job)
        for body in bodies:
            found.bodies.append(body)
            found.size += len(body)
        if not self._flushing:
            self._flushing = True
            self._loop.call_soon(self.flush)
        if len(found.bodies) >= MAX_EVENTS or found.size >= MAX_BYTES:
            self._write(partition)

    def add_one(self, job: Job, key: bytes, body: bytes) -> None:
        """`add` of a handling with one event (its decision): the commonest case, inline."""
        self._outbox.hold(job)
        partition = partition_of(key, self._partitions)
        found = self._open.get(partition)
        if found is None:
            found = self._open[partition] = _Open(key)
            if not self._flushing:
                self._flushing = True
                self._loop.call_soon(self.flush)
        found.jobs.append(job)
        found.bodies.append(body)
        found.size += len(body)
        if found.size >= MAX_BYTES or len(found.bodies) >= MAX_EVENTS:
            self._write(partition)

    def flush(self) -> None:
        self._flushing = False
        for partition in list(self._open):
            self._write(partition)

    def _write(self, partition: int) -> None:
        found = self._open.pop(partition)
        headers, _ = self._headers.build(AuditBatch.fullname)
        value = batch_value(self._frame, found.bodies)
        self._outbox.emit_shared(found.jobs, self._topic, value, found.key, headers, partition)
