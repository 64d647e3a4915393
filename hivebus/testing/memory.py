"""The harness's stand-ins for the broker side: a sent record, and an outbox kept in memory.

`MemoryOutbox` has the methods the executor, the dead-lettering middleware and `Context` call
on the runtime's `Outbox` (`emit`, `dead_letter`, `seal`, `on_settled`), and keeps what they
hand it as typed records. Nothing is produced, so every output counts as acknowledged at once.
Its headers are built as the runtime's outbox builds them (`HeaderBuilder`, `Job.lineage`);
dead letters carry the runtime's own `hivebus_error_*` headers.

With a serde (the default in the harness) each output is encoded with the real `Encoder` and
read back with the real `Serde.decode`, as a consumer would: a record its contract cannot
carry fails the handler attempt exactly as the runtime's outbox would fail it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from confluent_kafka import TIMESTAMP_CREATE_TIME, KafkaError

from hivebus.contracts import EventMeta, HeaderBuilder, Record, Serde, parse_headers
from hivebus.kafka.records import Headers
from hivebus.runtime.deadletter import Failure, dead_letter_headers, traced
from hivebus.runtime.job import Job
from hivebus.runtime.outbox import Fenced, Key
from hivebus.runtime.tracecontext import TRACE


class SentMessage:
    """A record as the consumer would hand it over (the `Consumed` protocol), plus its event."""

    __slots__ = (
        "_headers", "_key", "_offset", "_partition", "_timestamp", "_topic", "_value", "event",
    )  # fmt: skip

    def __init__(
        self,
        topic: str,
        partition: int,
        offset: int,
        key: str | None,
        value: bytes,
        headers: Headers | None,
        event: Record,
    ) -> None:
        self._topic, self._partition, self._offset = topic, partition, offset
        self._key = key.encode() if key is not None else None
        self._value, self._headers = value, headers
        self._timestamp = time.time_ns() // 1_000_000
        self.event = event

    def topic(self) -> str:
        return self._topic

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def key(self) -> bytes | None:
        return self._key

    def value(self) -> bytes | None:
        return self._value

    def headers(self) -> Headers | None:
        return self._headers

    def error(self) -> KafkaError | None:
        return None

    def timestamp(self) -> tuple[int, int]:
        return TIMESTAMP_CREATE_TIME, self._timestamp


@dataclass(frozen=True)
class Published:
    """One output: its topic and key, the record as a consumer reads it, its headers."""

    topic: str
    key: str | None
    record: Record
    headers: dict[str, str]

    @property
    def meta(self) -> EventMeta:
        """The CloudEvents attributes: `causation_id`, `correlation_id`, `id`, `type`, ..."""
        meta = parse_headers(self.headers)
        assert meta is not None, "every output carries ce_id"
        return meta


@dataclass(frozen=True)
class DeadLetter:
    """A record sent to `hivebus.dlq.<agent>`, and why (the fields of the runtime's Failure)."""

    kind: str  # "handler", "undecodable", "delivery" or "runtime"
    error_type: str
    message: str
    attempts: int
    topic: str
    key: str | None
    event: Record | None
    headers: dict[str, str]  # the original headers plus the runtime's hivebus_error_* ones


class MemoryOutbox:
    """What a job publishes or dead-letters, kept in memory; every write succeeds at once."""

    traced = False  # set by tracing: outputs and dead letters carry the current span

    def __init__(self, agent: str, *, serde: Serde | None) -> None:
        self.agent = agent
        self.on_settled: Callable[[Job], None] = _unset
        self.published: list[Published] = []
        self.dead_letters: list[DeadLetter] = []
        # Records a middleware wrote about the jobs, already encoded (the audit's): (topic,
        # value, key, headers), in order.
        self.encoded: list[tuple[str, bytes, Key, Headers]] = []
        self._serde = serde
        self._headers = HeaderBuilder(f"hivebus://agents/{agent}")
        self._outputs: dict[Job, list[Published]] = {}
        self._dead: dict[Job, DeadLetter] = {}

    def emit_cached(
        self, job: Job, topic: str, record: Record, key: Key, multi_type: bool = False
    ) -> bool:
        """Everything is "cached" in memory: the runtime's fast path lands here."""
        self._record(job, topic, record, key, multi_type)
        return True

    async def emit(
        self, job: Job, topic: str, record: Record, key: Key, multi_type: bool = False
    ) -> None:
        self._record(job, topic, record, key, multi_type)

    def _record(self, job: Job, topic: str, record: Record, key: Key, multi_type: bool) -> None:
        if job.fenced:
            raise Fenced(f"{job.where} lost its partition; its output to {topic} is dropped")
        if self._serde is not None:
            value = self._serde.encoder(topic, type(record), multi_type=multi_type).encode(record)
            record = self._serde.decode(value, type(record))
        cause, correlation, run = job.lineage()
        headers, _ = self._headers.build(
            record.fullname, correlation_id=correlation, causation_id=cause, run_id=run
        )
        trace = TRACE.get() if self.traced else None
        if trace is not None:  # as the runtime's outbox stamps the current span
            headers.extend(trace)
        text_key = key.decode(errors="replace") if isinstance(key, bytes) else key
        published = Published(topic, text_key, record, _text(headers))
        self.published.append(published)
        self._outputs.setdefault(job, []).append(published)
        observer = job.observer
        if observer is not None:  # as the runtime's outbox tells the audit
            observer.published(topic, headers[1][1], record)

    def emit_encoded(
        self, job: Job, topic: str, value: bytes, key: Key, headers: list[tuple[str, bytes]]
    ) -> None:
        """A record a middleware wrote about `job` (the audit), kept as it came."""
        if job.fenced:
            raise Fenced(f"{job.where} lost its partition; its record for {topic} is dropped")
        self.encoded.append((topic, value, key, headers))

    @property
    def serde(self) -> Serde | None:
        """The in-memory registry's serde (None with `round_trip=False`)."""
        return self._serde

    def dead_letter(self, job: Job, failure: Failure) -> None:
        job.dead = True
        if self.traced:
            failure = traced(failure)
        message = job.message
        letter = DeadLetter(
            failure.kind,
            failure.error_type,
            failure.message,
            failure.attempts,
            message.topic(),
            job.key,
            message.event if isinstance(message, SentMessage) else None,
            _text(dead_letter_headers(message, self.agent, failure)),
        )
        self.dead_letters.append(letter)
        self._dead[job] = letter

    def seal(self, job: Job) -> None:
        job.sealed = True
        if not job.pending:
            self.on_settled(job)

    async def acknowledged(self, job: Job) -> None:
        """Every write succeeds at once: nothing to wait for."""

    def take(self, job: Job) -> tuple[list[Published], DeadLetter | None]:
        """What `job` published and its dead letter, forgetting them (the totals stay)."""
        return self._outputs.pop(job, []), self._dead.pop(job, None)


def _text(headers: Headers) -> dict[str, str]:
    return {name: (value or b"").decode(errors="replace") for name, value in headers}


def _unset(job: Job) -> None:
    raise RuntimeError("MemoryOutbox.on_settled was never set")
