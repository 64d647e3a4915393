"""Dead letters: the original record, bytes untouched, plus headers that say what went wrong.

Topic `hivebus.dlq.<agent>`. The source record's key, value and headers are copied as they
were; hivebus adds `hivebus_error_*` headers. `hivebus dlq replay` strips those and sends
the record back to `hivebus_error_topic`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from hivebus.kafka.records import Consumed
from hivebus.runtime.tracecontext import TRACE

PREFIX = "hivebus.dlq."
ERROR_HEADER_PREFIX = "hivebus_error_"


def dlq_topic(agent: str) -> str:
    return PREFIX + agent


@dataclass(frozen=True)
class Failure:
    """Why a record is dead: `kind` is "handler", "undecodable", "delivery" or "runtime"."""

    kind: str
    error_type: str
    message: str
    attempts: int
    # The trace headers of the span that failed (tracing on): `hivebus_error_traceparent`.
    trace: tuple[tuple[str, bytes], ...] = ()


def traced(failure: Failure) -> Failure:
    """`failure` with the current span's trace headers, when there is one."""
    trace = TRACE.get()
    return failure if trace is None else replace(failure, trace=trace)


def dead_letter_headers(
    message: Consumed, agent: str, failure: Failure, *, brief: bool = False
) -> list[tuple[str, bytes]]:
    """The original headers plus the error's; `brief` keeps the error message short, for a
    record that the broker refused as too large with the full message attached."""
    original = list(message.headers() or [])
    extra = {
        "kind": failure.kind,
        "type": failure.error_type,
        "message": failure.message[: 120 if brief else 2000],
        "attempts": str(failure.attempts),
        "agent": agent,
        "topic": message.topic() or "",
        "partition": str(message.partition()),
        "offset": str(message.offset()),
        "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    errors = [(ERROR_HEADER_PREFIX + k, v.encode()) for k, v in extra.items()]
    # The failed handling's span goes in error headers: the original `ce_traceparent` stays
    # as it was, and a replay (which strips these) links to the record's first parent.
    errors += [(ERROR_HEADER_PREFIX + name[3:], value) for name, value in failure.trace]
    return original + errors


def strip_error_headers(
    headers: list[tuple[str, bytes]] | None,
) -> tuple[list[tuple[str, bytes]], dict[str, str]]:
    """Split a dead letter's headers into the original ones and the error fields."""
    original, errors = [], {}
    for name, value in headers or []:
        if name.startswith(ERROR_HEADER_PREFIX):
            errors[name[len(ERROR_HEADER_PREFIX) :]] = (value or b"").decode(errors="replace")
        else:
            original.append((name, value))
    return original, errors


FULL, BRIEF, WITHOUT_VALUE = 0, 1, 2  # how much of a dead letter to keep when it is too large


def dead_letter_record(
    message: Consumed, agent: str, failure: Failure, stage: int = FULL
) -> tuple[bytes | None, list[tuple[str, bytes]]]:
    """The dead letter's value and headers. Past `BRIEF` (still too large for the producer or
    the topic with short error headers) the value is left out, its size recorded in
    `hivebus_error_value_dropped`: the original stays readable at the source topic, partition
    and offset the headers name."""
    headers = dead_letter_headers(message, agent, failure, brief=stage >= BRIEF)
    if stage < WITHOUT_VALUE:
        return message.value(), headers
    size = str(len(message.value() or b""))
    return None, [*headers, (ERROR_HEADER_PREFIX + "value_dropped", size.encode())]


def record_size(
    value: bytes | None, key: str | bytes | None, headers: list[tuple[str, bytes]]
) -> int:
    """About what the producer counts against `message.max.bytes`."""
    size = len(value or b"") + len(key.encode() if isinstance(key, str) else key or b"") + 64
    for name, header in headers:  # a plain loop: this runs for every exactly-once output
        size += len(name) + len(header)
    return size
