"""Plain decisions by column: the audit of a fast pipeline, a few bytes and appends per event.

Most handlings do nothing but publish: no step, no LLM call, no error, payloads kept by
reference. The decisions one agent makes about one partition in one turn of the event loop
are written as one `PlainColumns` (schemas/AuditBatch.avsc): the agent, topic, partition and
names once, then one array per field. A decision costs a few list appends while its objects
are still in the cache; `body` encodes each array in one pass that runs mostly in C (the
times are packed doubles, the rest joined from small encoded pieces), cheaper than encoding
row by row. What most rows share (a first attempt, the record type, one output to one topic)
is said once; a row that differs is listed in `odd`. Readers turn the columns back into the
decisions they stand for (`expand.py`), so nothing downstream knows the difference.
"""

from __future__ import annotations

import struct
from itertools import chain
from operator import sub
from typing import TYPE_CHECKING

from hivebus.audit.wire import NULL, SOME, long, string

if TYPE_CHECKING:
    from hivebus.audit.trail import Published, Trail
    from hivebus.kafka.records import Headers
    from hivebus.runtime.job import Job
    from hivebus.runtime.middleware import Call

DOUBLE = struct.Struct("<d").pack
CAUSATION = "ce_causationid"
_CAUSATION_AT = 7  # in the headers `HeaderBuilder.caused` writes
NO_LINEAGE = NULL * 3  # correlation (the event's own), causation and run: none
_LENGTHS = [long(n) for n in range(4096)]
_DELTAS = {n: long(n) for n in range(-4096, 4096)}
_ZERO, _ONE = long(0), long(1)


class Columns:
    """One `PlainColumns` being written; the first decision sets what the rows share."""

    __slots__ = ("agent", "at_ms", "began", "clock", "ended", "event_ids", "kind", "lineage",
                 "names", "odd", "offset", "offsets", "out_class", "out_topic", "output_ids",
                 "outs", "partition", "shared", "topic")  # fmt: skip

    def __init__(
        self, agent: bytes, topic: bytes, partition: int, offset: int, at_ms: int, clock: float,
        first: Trail,
    ) -> None:  # fmt: skip
        self.agent = agent  # `string(name) + string(version)`, as `wire` encodes them
        self.topic = topic  # `string(topic)`
        self.partition = partition
        self.offset = offset  # where the offsets' differences count from
        self.at_ms, self.clock = at_ms, clock  # the same moment: wall ms, perf_counter
        self.names: dict[str, int] = {}
        # An odd row's output: its topic's and type's positions in `names`, encoded.
        self.outs: dict[tuple[str, type], tuple[bytes, bytes]] = {}
        self.kind = type(first.call.event)  # what the rows share, unless `odd`
        outputs = first.outputs
        self.out_topic: str | None = outputs[0][0] if len(outputs) == 1 else None
        self.out_class: type | None = type(outputs[0][2]) if len(outputs) == 1 else None
        self.shared = (  # `type`, `output_topic`, `output_type`, encoded
            long(self._name(first.call.event.fullname)),
            *((long(self._name(outputs[0][0])), long(self._name(outputs[0][2].fullname)))
              if len(outputs) == 1 else (long(-1), long(0))),
        )  # fmt: skip
        self.offsets: list[int] = []
        self.event_ids: list[bytes] = []
        self.lineage: list[bytes] = []  # each row's `PlainLineage`, encoded
        self.began: list[float] = []
        self.ended: list[float] = []
        self.output_ids: list[bytes] = []
        self.odd: list[bytes] = []  # each `PlainOdd`, encoded

    def add(self, trail: Trail, call: Call, job: Job) -> int:
        """The decision of `trail`, which ended plain (`ended` set); about its size in bytes.
        (`call` and `job` are the trail's, at hand in every caller.) What may fail is worked
        out before the row is appended, or the row is taken back: the columns stay aligned."""
        cause, correlation, run = trail.lineage
        headers = job.headers
        if correlation is cause and run is None and not headers:
            lineage = NO_LINEAGE  # a record from outside hivebus
        else:
            lineage = _lineage(cause, correlation, run, headers)
        self.offsets.append(job.message.offset())
        self.event_ids.append(cause)
        self.lineage.append(lineage)
        self.began.append(trail.clock)
        self.ended.append(trail.ended)
        size = len(cause) + len(lineage) + 24
        outputs = trail.outputs
        if call.attempt == 1 and type(call.event) is self.kind:
            if len(outputs) == 1:
                topic, out_id, record, _ = outputs[0]
                if topic is self.out_topic and type(record) is self.out_class:  # (`is`: the
                    self.output_ids.append(out_id)  # handler's own; an equal one is odd)
                    return size + len(out_id)
            elif not outputs and self.out_topic is None:
                return size
        try:
            odd = self._odd(len(self.offsets) - 1, call, outputs)
        except BaseException:
            for column in (self.offsets, self.event_ids, self.lineage, self.began, self.ended):
                column.pop()
            raise
        self.odd.append(odd)
        return size + len(odd)

    def _odd(self, row: int, call: Call, outputs: list[Published]) -> bytes:
        """The `PlainOdd` of row `row`: its attempt, its type, all its outputs."""
        parts = [long(row), long(call.attempt), long(self._name(call.event.fullname))]
        if outputs:
            parts.append(long(len(outputs)))
            for topic, out_id, record, _ in outputs:
                out = self.outs.get((topic, type(record)))
                if out is None:
                    out = long(self._name(topic)), long(self._name(record.fullname))
                    self.outs[(topic, type(record))] = out
                parts += (out[0], string(out_id), out[1])
        parts.append(NULL)  # the end of its outputs
        return b"".join(parts)

    def _name(self, name: str) -> int:
        """`name`'s position in `names`, added if new."""
        at = self.names.get(name)
        if at is None:
            at = self.names[name] = len(self.names)
        return at

    def body(self) -> bytes:
        """The Avro body of the `PlainColumns`."""
        rows = len(self.offsets)
        names = [string(name.encode()) for name in self.names]
        head = (
            self.agent, self.topic, long(self.partition), _array(len(names), b"".join(names)),
            *self.shared, long(self.offset), long(self.at_ms), DOUBLE(self.clock),
        )  # fmt: skip
        doubles = struct.Struct(f"<{rows}d").pack
        return b"".join((
            *head,
            _array(rows, _deltas(self.offset, self.offsets)),
            _array(rows, _strings(self.event_ids)),
            _array(rows, b"".join(self.lineage)),
            _array(rows, doubles(*self.began)),
            _array(rows, doubles(*self.ended)),
            _array(len(self.output_ids), _strings(self.output_ids)),
            _array(len(self.odd), b"".join(self.odd)),
        ))  # fmt: skip


def _array(count: int, items: bytes) -> bytes:
    """An Avro array of `count` items already encoded (an empty one is its end alone)."""
    return long(count) + items + NULL if count else NULL


def _deltas(first: int, offsets: list[int]) -> bytes:
    """Each offset less the one before (the first: less `first`), as Avro longs."""
    if not offsets:
        return b""
    count = len(offsets)
    if offsets[-1] - first == count - 1 and offsets == list(range(first, first + count)):
        # the commonest: one after another from `first`
        return _ZERO + _ONE * (count - 1)
    deltas = list(map(sub, offsets, [first, *offsets[:-1]]))
    try:
        return b"".join(map(_DELTAS.__getitem__, deltas))
    except KeyError:  # a jump of 4096 or more
        return b"".join(map(long, deltas))


def _strings(items: list[bytes]) -> bytes:
    """Avro strings, each its length then its bytes."""
    lengths = set(map(len, items))
    if len(lengths) == 1 and (size := lengths.pop()) < len(_LENGTHS):
        prefix = _LENGTHS[size]  # all of one length (ids, most often): one join
        return prefix + prefix.join(items)
    try:
        return b"".join(chain.from_iterable(zip(map(_LENGTHS.__getitem__, map(len, items)),
                                                items, strict=True)))  # fmt: skip
    except IndexError:  # one of 4096 bytes or more
        return b"".join(map(string, items))


def _lineage(cause: bytes, correlation: bytes, run: bytes | None, headers: Headers | None) -> bytes:
    """A row's `PlainLineage`: correlation (null when it is the event's own), causation, run."""
    causation = causation_of(headers)
    return b"".join((
        NULL if correlation == cause else SOME + string(correlation),
        NULL if causation is None else SOME + string(causation),
        NULL if run is None else SOME + string(run),
    ))  # fmt: skip


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
