"""Plain decisions in columns: the audit of a fast pipeline, a few bytes per event.

Most handlings do nothing but publish: no step, no LLM call, no error, payloads kept by
reference. Their decisions differ only in the record decided about and the outputs, so the
decisions one agent makes about one partition in one turn of the event loop are written as
one `PlainDecisions` (schemas/AuditBatch.avsc): the agent, topic, partition and the names
once, then one short row per record, offsets and times as differences. Writing a row costs a
fraction of writing an `AuditEvent`; a reader turns the rows back into the decisions they
stand for (`expand`), so nothing downstream knows the difference.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from hivebus.audit.records import (
    DECISION,
    AuditBatch,
    AuditEvent,
    InputRef,
    OutputRef,
    PlainDecisions,
)
from hivebus.audit.wire import NULL, SOME, long, string

if TYPE_CHECKING:
    from hivebus.audit.trail import Published, Trail
    from hivebus.contracts import Record
    from hivebus.kafka.records import Headers

DOUBLE = struct.Struct("<d").pack
_SMALL = [long(n) for n in range(4096)]
OK = "ok"
ONE = long(1)  # an array of one item
NO_IDS = NULL * 3  # correlation (the event's own), causation and run: none
CAUSATION = "ce_causationid"
_CAUSATION_AT = 7  # in the headers `HeaderBuilder.caused` writes


class Columns:
    """One `PlainDecisions` being written: each decision is encoded as it is made (its
    objects are still in the cache then; a pass over hundreds of them later costs more
    than the encoding), and `body` joins them."""

    __slots__ = ("agent", "at_ms", "clock", "kinds", "names", "offset", "outs", "partition",
                 "previous", "rows", "topic")  # fmt: skip

    def __init__(
        self, agent: bytes, topic: bytes, partition: int, offset: int, at_ms: int, clock: float
    ) -> None:
        self.agent = agent  # `string(name) + string(version)`, as `wire` encodes them
        self.topic = topic  # `string(topic)`
        self.partition = partition
        self.offset = self.previous = offset  # the first row's, and the last row's
        self.at_ms, self.clock = at_ms, clock  # the first row's start: wall ms, perf_counter
        self.names: dict[str, int] = {}
        self.rows: list[bytes] = []
        # Encoded once: a first attempt's `attempt` and `type`, by the record's class; an
        # output's `topic` and `type` positions, by topic and class.
        self.kinds: dict[type, bytes] = {}
        self.outs: dict[tuple[str, type], tuple[bytes, bytes, bytes, bytes]] = {}

    def add(self, trail: Trail) -> int:
        """The decision of `trail`, which ended plain (`ended` set) in this partition; its
        size in bytes."""
        small = _SMALL
        call = trail.call
        job = call.job
        offset = job.message.offset()
        delta, self.previous = offset - self.previous, offset
        cause, correlation, run = trail.lineage
        headers = job.headers
        if correlation == cause and run is None and not headers:
            ids = NO_IDS  # a record from outside hivebus: no correlation, causation or run
        else:
            ids = b"".join((
                NULL if correlation == cause else SOME + string(correlation),
                _optional(causation_of(headers)), NULL if run is None else SOME + string(run),
            ))  # fmt: skip
        kind = self.kinds.get(type(call.event)) if call.attempt == 1 else None
        if kind is None:
            kind = self._kind(call.event, call.attempt)
        began = trail.clock
        took = DOUBLE(1000 * (trail.ended - began))
        outputs = trail.outputs
        if len(outputs) == 1 and delta >= 0 and began >= self.clock:  # pass-through
            since = int(1000 * (began - self.clock) + 0.5)  # rounded (it is not negative)
            out_topic, out_id, record, _ = outputs[0]
            out = self.outs.get((out_topic, type(record))) or self._out(out_topic, record)
            try:  # lengths and differences under 4096 (one or two bytes), else IndexError
                row = b"".join((
                    small[delta], small[len(cause)], cause, ids, small[since], took, kind,
                    out[2], small[len(out_id)], out_id, out[3],
                ))  # fmt: skip
            except IndexError:
                row = self._row(delta, cause, ids, since, took, kind, outputs)
        else:
            since = round(1000 * (began - self.clock))
            row = self._row(delta, cause, ids, since, took, kind, outputs)
        self.rows.append(row)
        return len(row)

    def _row(
        self, delta: int, cause: bytes, ids: bytes, since: int, took: bytes, kind: bytes,
        outputs: list[Published],
    ) -> bytes:  # fmt: skip
        """`add`'s row in general: any number of outputs, any sizes."""
        parts = [long(delta), string(cause), ids, long(since), took, kind]
        if outputs:
            parts.append(long(len(outputs)))
            for out_topic, out_id, record, _ in outputs:
                out = self.outs.get((out_topic, type(record))) or self._out(out_topic, record)
                parts += (out[0], string(out_id), out[1])
        parts.append(NULL)  # the end of its outputs
        return b"".join(parts)

    def _kind(self, event: Record, attempt: int) -> bytes:
        kind = long(attempt) + long(self._name(event.fullname))
        if attempt == 1:
            self.kinds[type(event)] = kind
        return kind

    def _out(self, topic: str, record: Record) -> tuple[bytes, bytes, bytes, bytes]:
        """An output's `topic` and `type` positions, and as a one-output row ends with them:
        the count and the topic, then the type and the outputs' end."""
        where, kind = long(self._name(topic)), long(self._name(record.fullname))
        out = self.outs[(topic, type(record))] = (where, kind, ONE + where, kind + NULL)
        return out

    def _name(self, name: str) -> int:
        """`name`'s position in `names`, added if new."""
        at = self.names.get(name)
        if at is None:
            at = self.names[name] = len(self.names)
        return at

    def body(self) -> bytes:
        """The Avro body of the `PlainDecisions`."""
        names, rows = self.names, self.rows
        head = [self.agent, self.topic, long(self.partition)]
        if names:  # (an empty array is its end alone)
            head.append(long(len(names)))
            head += (string(name.encode()) for name in names)
        head += (NULL, long(self.offset), long(self.at_ms))
        if rows:
            head.append(long(len(rows)))
        return b"".join((*head, *rows, NULL))


def _optional(value: bytes | None) -> bytes:
    return NULL if value is None else SOME + string(value)


def causation_of(headers: Headers | None) -> bytes | None:
    """A record's `ce_causationid`; where hivebus's headers put it first (HeaderBuilder)."""
    if not headers:
        return None
    if len(headers) > _CAUSATION_AT:
        name, value = headers[_CAUSATION_AT]
        if name == CAUSATION and value is not None:
            return value if isinstance(value, bytes) else str(value).encode()
    for name, value in headers:
        if name == CAUSATION and value is not None:
            return value if isinstance(value, bytes) else str(value).encode()
    return None


def expand(group: PlainDecisions) -> list[AuditEvent]:
    """The decisions `group`'s rows stand for, as any other decision reads."""
    names, events = group.names, []
    offset = group.offset
    try:
        for row in group.rows:
            offset += row.offset_delta
            outputs = [
                OutputRef(topic=names[out.topic], event_id=out.event_id, type=names[out.type])
                for out in row.outputs
            ]
            events.append(AuditEvent(
                kind=DECISION, decision_id=f"{group.agent}/{row.event_id}", seq=0,
                agent=group.agent, agent_version=group.agent_version,
                correlation_id=row.event_id if row.correlation_id is None else row.correlation_id,
                run_id=row.run_id,
                at_ms=group.at_ms + row.at_delta_ms, duration_ms=row.duration_ms, outcome=OK,
                attempt=row.attempt, outputs=outputs,
                input=InputRef(topic=group.topic, partition=group.partition, offset=offset,
                               event_id=row.event_id, causation_id=row.causation_id,
                               type=names[row.type]),
            ))  # fmt: skip
    except IndexError:
        raise ValueError(
            f"plain decisions of {group.agent} name a position past their {len(names)} names"
        ) from None
    return events


def events_of(batch: AuditBatch) -> list[AuditEvent]:
    """Every event `batch` holds: its events, then its plain decisions."""
    if not batch.plain:
        return batch.events
    return [*batch.events, *(event for group in batch.plain for event in expand(group))]
