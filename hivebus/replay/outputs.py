"""Outputs as the diff compares them: decoded, with the input they name as their cause; and
the live agent's historical outputs, found on the live topics by that cause."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any

from confluent_kafka.admin import AdminClient

from hivebus.contracts import Serde, UndecodableRecord
from hivebus.replay.diff import Output
from hivebus.replay.ranges import partitions_of, ranges_between
from hivebus.replay.reader import BoundedReader

# Outputs are written after their inputs, but producers' clocks differ: look this much earlier.
CLOCK_SLACK_MS = 60_000
RawHeaders = Sequence[tuple[str, bytes | str | None]]


def header_values(headers: RawHeaders | None) -> dict[str, str]:
    found = {}
    for name, value in headers or ():
        if value is not None:
            found[name] = value.decode(errors="replace") if isinstance(value, bytes) else value
    return found


def output_of(
    serde: Serde,
    topic: str,
    key: bytes | None,
    value: bytes | None,
    headers: RawHeaders | None,
    where: str,
) -> tuple[str | None, str, Output]:
    """(its cause, its ce_source, the output decoded) of one record."""
    attributes = header_values(headers)
    kind = attributes.get("ce_type", "")
    decoded: Any = None
    if value is not None:
        try:
            writer, decoded = serde.decode_any(value)
            kind = writer.fullname
        except UndecodableRecord as error:
            decoded = f"<undecodable: {error.reason}>"
    text_key = key.decode(errors="replace") if key is not None else None
    output = Output(topic, text_key, kind, decoded, attributes.get("ce_id"), where)
    return attributes.get("ce_causationid"), attributes.get("ce_source", ""), output


def historical_outputs(
    serde: Serde,
    admin: AdminClient,
    topics: Collection[str],
    agents: Collection[str],
    causes: Collection[str],
    start_ms: int,
    *,
    timeout_s: float = 30.0,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[dict[str, list[Output]], int]:
    """The outputs `agents` wrote to `topics` for the inputs in `causes` (from `start_ms`,
    less the clock slack, to the current end), and how many exact repeats were dropped (a
    redelivered input handled twice writes its outputs twice)."""
    wanted, sources = set(causes), {f"hivebus://agents/{agent}" for agent in agents}
    ranges = ranges_between(
        admin, partitions_of(admin, topics, timeout_s), start_ms - CLOCK_SLACK_MS, None, timeout_s
    )
    total, read = sum(r.size for r in ranges), 0
    found: dict[str, list[Output]] = {}
    repeats = 0
    reader = BoundedReader(ranges)
    try:
        while not reader.done:
            batch = reader.batch()
            read += len(batch)
            if progress is not None:
                progress(read, total)
            for message in batch:
                headers = message.headers()
                attributes = header_values(headers)
                cause, source = attributes.get("ce_causationid"), attributes.get("ce_source")
                if cause is None or cause not in wanted or source not in sources:
                    continue
                where = f"{message.topic()}[{message.partition()}]@{message.offset()}"
                _, _, output = output_of(
                    serde, message.topic(), message.key(), message.value(), headers, where
                )
                outputs = found.setdefault(cause, [])
                if any(o.topic == output.topic and o.same_as(output) for o in outputs):
                    repeats += 1
                    continue
                outputs.append(output)
    finally:
        reader.close()
    return found, repeats
