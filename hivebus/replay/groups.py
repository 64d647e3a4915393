"""A consumer group's committed offsets, read with the admin API: reading them never joins
the group, so it changes nothing for the group's members."""

from __future__ import annotations

from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient

from hivebus.replay.ranges import Partition


def committed_offsets(
    admin: AdminClient, group: str, partitions: list[Partition] | None, timeout_s: float
) -> dict[Partition, int]:
    """The group's committed offset of each partition (all of its partitions when
    `partitions` is None); a partition with no commit is left out."""
    wanted = [TopicPartition(t, p) for t, p in partitions] if partitions is not None else None
    if wanted == []:
        return {}
    request = [ConsumerGroupTopicPartitions(group, wanted)]
    answer = admin.list_consumer_group_offsets(request, request_timeout=timeout_s)[group]
    result = answer.result(timeout=timeout_s)
    return {
        (tp.topic, tp.partition): tp.offset
        for tp in result.topic_partitions or []
        if tp.offset >= 0
    }
