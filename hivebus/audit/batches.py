"""Many handlings' audit events in one Kafka record: what keeps the audit cheap.

A record costs the producer, the broker and the delivery report far more than the few
hundred bytes of a decision do; on a fast pipeline one more record per event halves the
throughput. So in at-least-once mode the events of every handling that ends in one turn of
the event loop are gathered per partition of the audit topic (the partition their
correlation id, or run id, hashes to, as the producer would place it) and written as one
`AuditBatch` each, at the end of the turn, or sooner when one grows large. Plain decisions
(plain.py) go in columns instead, one `PlainColumns` per partition read, placed by that
partition (`topic/partition/` hashes to it): no hash per event, which costs more than the
rest of a plain decision. Each handling's record waits for that write (`Outbox.hold`), so
its offset commits only once its audit is acknowledged, as with its own outputs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hivebus.audit import wire
from hivebus.audit.plain import Columns
from hivebus.audit.records import AuditBatch
from hivebus.contracts import HeaderBuilder
from hivebus.kafka.partitioning import partition_of
from hivebus.runtime.job import CANCELLED
from hivebus.runtime.outbox import Fenced

if TYPE_CHECKING:
    from hivebus.audit.trail import Trail
    from hivebus.runtime.agent import Agent
    from hivebus.runtime.assignment import Assignment
    from hivebus.runtime.job import Job
    from hivebus.runtime.middleware import Call
    from hivebus.runtime.outbox import Outbox

MAX_EVENTS = 1000  # events and plain decisions in one record
MAX_BYTES = 512 * 1024  # well under the broker's default record limit of 1 MiB
_Columns = tuple[str, Columns, "_Open", bytes]  # agent name, columns, their batch, its key


def batch_value(frame: bytes, bodies: list[bytes], columns: list[bytes] | None = None) -> bytes:
    """An `AuditBatch` in wire format: its events' Avro bodies, no `PlainDecisions` (the
    format before columns), and its `PlainColumns`' bodies."""
    parts = [frame]
    for items in (bodies, None, columns):
        if items:  # (an empty array is its end alone)
            parts.append(wire.long(len(items)))
            parts += items
        parts.append(wire.NULL)
    return b"".join(parts)


@dataclass(slots=True)
class _Open:
    """The next record of one partition of the audit topic."""

    key: bytes  # the first event's: it hashes to this partition too
    jobs: list[Job] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    columns: dict[Assignment, Columns] = field(default_factory=dict)
    count: int = 0  # events and plain decisions
    size: int = 0


class Batches:
    def __init__(
        self, outbox: Outbox, topic: str, partitions: int, frame: bytes, headers: HeaderBuilder,
        agent: Callable[[Agent], bytes],
    ) -> None:  # fmt: skip
        self._outbox, self._topic, self._partitions = outbox, topic, partitions
        self._frame, self._headers = frame, headers
        self._agent = agent  # `string(name) + string(version)` of an agent
        self._open: dict[int, _Open] = {}
        # The columns being written, by the partition read: each with its agent's name,
        # its batch and the key that placed it.
        self._columns: dict[Assignment, _Columns] = {}
        self._loop = asyncio.get_running_loop()

    def add_plain(self, trail: Trail, call: Call, job: Job) -> None:
        """Write the decision of a plain handling (`plain.py`) with the next columns of the
        partition it read; its job settles only once they are acknowledged. (`call` and
        `job` are the trail's: every caller has them at hand.)"""
        assignment = job.assignment
        if assignment.revoked or job.state is CANCELLED:  # `Outbox.hold`, inline
            raise Fenced(f"{job.where} lost its partition; its audit is dropped")
        job.pending += 1
        known = self._columns.get(assignment)
        if known is None or known[0] is not call.agent.name:
            known = self._open_columns(trail)
        _, columns, found, key = known
        found.size += columns.add(trail, call, job)
        found.jobs.append(job)
        found.count += 1
        if found.count >= MAX_EVENTS or found.size >= MAX_BYTES:
            self._write(key)

    def _open_columns(self, trail: Trail) -> _Columns:
        """New columns for the partition `trail` read, in the batch of the audit partition
        that partition's name hashes to; one agent's only (but for a durable run's name)."""
        call, job = trail.call, trail.call.job
        name = call.agent.name
        if job.assignment in self._columns:  # another agent's, on the same partition
            self._write(self._columns[job.assignment][3])
        key = job.assignment.where
        found = self._batch(key)
        topic, partition = job.assignment.partition
        columns = found.columns[job.assignment] = Columns(
            self._agent(call.agent), wire.string(topic.encode()), partition,
            job.message.offset(), trail.started_ms, trail.clock, trail,
        )  # fmt: skip
        known = self._columns[job.assignment] = (name, columns, found, key)
        return known

    def add(self, job: Job, key: bytes, bodies: list[bytes]) -> None:
        """Write `bodies` (one handling's events, in order) with the next batch of the
        partition `key` hashes to; `job` settles only once it is acknowledged."""
        self._outbox.hold(job)
        found = self._batch(key)
        found.jobs.append(job)
        for body in bodies:
            found.bodies.append(body)
            found.size += len(body)
        found.count += len(bodies)
        if found.count >= MAX_EVENTS or found.size >= MAX_BYTES:
            self._write(key)

    def flush(self) -> None:
        for partition in list(self._open):
            self._write_partition(partition)

    def _batch(self, key: bytes) -> _Open:
        partition = partition_of(key, self._partitions)
        found = self._open.get(partition)
        if found is None:
            if not self._open:  # the first of this turn: written at its end
                self._loop.call_soon(self.flush)
            found = self._open[partition] = _Open(key)
        return found

    def _write(self, key: bytes) -> None:
        self._write_partition(partition_of(key, self._partitions))

    def _write_partition(self, partition: int) -> None:
        found = self._open.pop(partition)
        for where in found.columns:
            del self._columns[where]
        headers, _ = self._headers.build(AuditBatch.fullname)
        groups = [columns.body() for columns in found.columns.values()]
        value = batch_value(self._frame, found.bodies, groups)
        self._outbox.emit_shared(found.jobs, self._topic, value, found.key, headers, partition)
