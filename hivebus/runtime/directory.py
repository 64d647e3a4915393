"""The directory: live agents, built from what they announce on `hivebus.directory`.

Every instance announces itself at start, on a heartbeat, and once more ("stopped") when it
leaves. The topic is compacted by agent name, with `min.compaction.lag.ms` long enough that
recent heartbeats of every instance survive compaction; a reader folds the log into one view
per agent whose live instances are those heard from within three heartbeat intervals.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition
from pydantic import Field

from hivebus.contracts import Record, Serde
from hivebus.kafka.admin import TopicSpec
from hivebus.kafka.connection import connection_settings
from hivebus.kafka.records import one, watermarks
from hivebus.runtime.agent import Agent
from hivebus.runtime.metrics import AgentStats

TOPIC = "hivebus.directory"
SPEC = TopicSpec(
    TOPIC,
    partitions=1,
    config={"cleanup.policy": "compact", "min.compaction.lag.ms": str(24 * 3600 * 1000)},
)


class AgentAnnouncement(Record, avsc=Path(__file__).parent / "schemas" / "AgentAnnouncement.avsc"):
    agent: str
    version: str
    description: str = ""
    instance: str
    status: str
    subscriptions: list[str]
    handles: list[str]
    emits: list[str] = Field(default_factory=list)
    outputs: list[str] = Field(default_factory=list)
    started_at: str
    heartbeat_at: str
    heartbeat_interval_s: float
    in_flight: int = 0
    consumed: int = 0
    produced: int = 0


def instance_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def announcement(
    agent: Agent,
    instance: str,
    started_at: str,
    interval_s: float,
    emits: set[str],
    status: str,
    stats: AgentStats | None = None,
) -> AgentAnnouncement:
    """What the instance says now; `stats` adds its load, so readers see in-flight work and
    get rates from the counters of successive heartbeats."""
    return AgentAnnouncement(
        agent=agent.name,
        version=agent.version,
        description=agent.description,
        instance=instance,
        status=status,
        subscriptions=agent.subscriptions,
        handles=agent.handled_types,
        emits=sorted(emits),
        outputs=agent.outputs,
        started_at=started_at,
        heartbeat_at=now(),
        heartbeat_interval_s=interval_s,
        in_flight=stats.in_flight if stats is not None else 0,
        consumed=sum(stats.consumed.values()) if stats is not None else 0,
        produced=stats.produced_total if stats is not None else 0,
    )


@dataclass
class AgentView:
    """One agent as the directory sees it."""

    name: str
    latest: AgentAnnouncement
    instances: dict[str, AgentAnnouncement] = field(default_factory=dict)

    def live_instances(self, at: datetime) -> list[AgentAnnouncement]:
        return [a for a in self.instances.values() if _is_live(a, at)]


def read_directory(serde: Serde, timeout_s: float = 10.0) -> dict[str, AgentView]:
    """Fold the directory topic, from the beginning to its current end, into views."""
    consumer = Consumer({
        **connection_settings("consumer"),
        "group.id": f"hivebus-directory-reader-{uuid.uuid4().hex[:8]}",
        "enable.auto.commit": False,
    })  # fmt: skip
    views: dict[str, AgentView] = {}
    try:
        metadata = consumer.list_topics(TOPIC, timeout=timeout_s).topics.get(TOPIC)
        if metadata is None or metadata.error is not None:
            return views
        partitions = [TopicPartition(TOPIC, p, 0) for p in metadata.partitions]
        # Right after a broker starts a partition may have no leader yet: waited out.
        ends = {p.partition: watermarks(consumer, p, timeout_s)[1] for p in partitions}
        consumer.assign(partitions)
        remaining = {p for p, end in ends.items() if end > 0}
        deadline = datetime.now(UTC) + timedelta(seconds=timeout_s)
        while remaining and datetime.now(UTC) < deadline:
            polled = consumer.poll(0.5)
            if polled is None or polled.error() is not None:
                continue
            message = one(polled)
            if message.offset() + 1 >= ends[message.partition()]:
                remaining.discard(message.partition())
            if message.value() is None:
                views.pop((message.key() or b"").decode(), None)
                continue
            record = serde.decode(message.value() or b"", AgentAnnouncement)
            assert isinstance(record, AgentAnnouncement)
            view = views.setdefault(record.agent, AgentView(record.agent, record))
            view.latest = record
            view.instances[record.instance] = record
    finally:
        consumer.close()
    return views


def _is_live(announcement: AgentAnnouncement, at: datetime) -> bool:
    if announcement.status != "running":
        return False
    heard = datetime.fromisoformat(announcement.heartbeat_at.replace("Z", "+00:00"))
    return at - heard <= timedelta(seconds=3 * announcement.heartbeat_interval_s)
