"""Which records a replay reads: the topics an agent subscribes to, and per partition the
offsets between two times (`offsets_for_times`), fixed when the replay starts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import confluent_kafka.admin as admin_api
from confluent_kafka import KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from hivebus.errors import HivebusError
from hivebus.replay.names import is_shadow
from hivebus.runtime.agent import Agent

Partition = tuple[str, int]


@dataclass(frozen=True)
class Range:
    """Offsets [start, end) of one partition."""

    topic: str
    partition: int
    start: int
    end: int

    @property
    def size(self) -> int:
        return max(0, self.end - self.start)


def subscribed_topics(agent: Agent, existing: Iterable[str]) -> list[str]:
    """The existing topics the agent's handlers read, exact names and pattern matches alike;
    never a shadow topic (a replay must not read another replay's outputs) or one of Kafka's
    internal topics."""
    found = []
    for topic in existing:
        if topic.startswith("__") or is_shadow(topic):
            continue
        if any(handler.matches(topic) for handler in agent.handlers):
            found.append(topic)
    return sorted(found)


def partitions_of(admin: AdminClient, topics: Iterable[str], timeout_s: float) -> list[Partition]:
    metadata = admin.list_topics(timeout=timeout_s).topics
    found = []
    for topic in topics:
        info = metadata.get(topic)
        if info is not None and info.error is None:
            found += [(topic, number) for number in sorted(info.partitions)]
    return found


def ranges_between(
    admin: AdminClient,
    partitions: list[Partition],
    start_ms: int | None,
    end_ms: int | None,
    timeout_s: float,
) -> list[Range]:
    """Per partition, the records written from `start_ms` (None: the beginning) up to, not
    including, `end_ms` (None: the current end). A time past the newest record means the end;
    the end is fixed now, so records that arrive later are not part of the range."""
    if not partitions:
        return []
    low = list_offsets(admin, partitions, admin_api.OffsetSpec.earliest(), timeout_s)  # type: ignore[attr-defined,no-untyped-call]
    high = list_offsets(admin, partitions, admin_api.OffsetSpec.latest(), timeout_s)  # type: ignore[attr-defined,no-untyped-call]
    starts, ends = low, high
    if start_ms is not None:
        starts = _at(admin, partitions, start_ms, high, timeout_s)
    if end_ms is not None:
        ends = _at(admin, partitions, end_ms, high, timeout_s)
    return [Range(*p, max(starts[p], low[p]), min(ends[p], high[p])) for p in partitions]


def _at(
    admin: AdminClient,
    partitions: list[Partition],
    ms: int,
    high: dict[Partition, int],
    timeout_s: float,
) -> dict[Partition, int]:
    """The first offset whose timestamp is at or after `ms`; the end when there is none."""
    spec = admin_api.OffsetSpec.for_timestamp(ms)  # type: ignore[attr-defined]
    found = list_offsets(admin, partitions, spec, timeout_s)
    return {p: found[p] if found[p] >= 0 else high[p] for p in partitions}


def list_offsets(
    admin: AdminClient, partitions: list[Partition], spec: Any, timeout_s: float
) -> dict[Partition, int]:
    wanted = {TopicPartition(topic, number): spec for topic, number in partitions}
    offsets = {}
    for tp, future in admin.list_offsets(wanted, request_timeout=timeout_s).items():
        try:
            offsets[(tp.topic, tp.partition)] = int(future.result(timeout=timeout_s).offset)
        except KafkaException as error:
            raise HivebusError(
                f"cannot read the offsets of {tp.topic}[{tp.partition}]: {error.args[0].str()}"
            ) from None
    return offsets
