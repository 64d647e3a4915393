"""What the broker says about consumer groups and partitions, read through one admin client.

An agent's lag is the end of each partition its group has committed on, minus that commit.
That is what `kafka-consumer-groups` shows and what KEDA scales on. The workers' own
lag gauge is per instance and lives in their processes. The dashboard asks the broker
instead, so it sees the whole group, including partitions no instance holds right now.
These calls block and run in a worker thread.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from confluent_kafka import ConsumerGroupTopicPartitions
from confluent_kafka.admin import AdminClient

from hivebus.kafka.admin import end_offsets

Partition = tuple[str, int]


@dataclass(frozen=True)
class GroupOffsets:
    """A group's committed offsets and the ends of those partitions, read together."""

    committed: dict[Partition, int] = field(default_factory=dict)
    ends: dict[Partition, int] = field(default_factory=dict)

    @property
    def lag(self) -> int | None:
        """Records not yet committed, over the partitions the group has committed on."""
        known = [p for p in self.committed if p in self.ends]
        if not known:
            return None
        return sum(max(0, self.ends[p] - self.committed[p]) for p in known)

    @property
    def committed_total(self) -> int:
        return sum(self.committed.values())

    @property
    def end_total(self) -> int:
        return sum(self.ends[p] for p in self.committed if p in self.ends)


def committed_offsets(
    admin: AdminClient, groups: Iterable[str], timeout_s: float
) -> dict[str, dict[Partition, int]]:
    """The committed offset of every partition each group has committed on. One request per
    group (the client allows no more), all in flight at once; a group the broker could not
    answer for is left out."""
    futures = {
        group: admin.list_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group)], request_timeout=timeout_s
        )[group]
        for group in groups
    }
    found: dict[str, dict[Partition, int]] = {}
    for group, future in futures.items():
        try:
            answer = future.result(timeout=timeout_s)
        except Exception:  # one group must not hide the others
            continue
        found[group] = {
            (tp.topic, tp.partition): int(tp.offset)
            for tp in answer.topic_partitions or []
            if tp.offset >= 0
        }
    return found


def group_offsets(
    admin: AdminClient, groups: Iterable[str], timeout_s: float
) -> dict[str, GroupOffsets]:
    """Each group's commits and the ends of the same partitions."""
    committed = committed_offsets(admin, groups, timeout_s)
    partitions = {p for offsets in committed.values() for p in offsets}
    ends = end_offsets(admin, partitions, timeout_s)
    return {
        group: GroupOffsets(offsets, {p: ends[p] for p in offsets if p in ends})
        for group, offsets in committed.items()
    }
