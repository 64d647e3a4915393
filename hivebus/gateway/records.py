"""The gateway's own topic: `hivebus.tasks`, one record per task, so any replica knows every task.

Compacted by task id, and also deleted after the journals' default retention: a task whose
run's journal is gone has nothing left to show.
"""

from __future__ import annotations

from pathlib import Path

from hivebus.contracts import Record
from hivebus.kafka.admin import TopicSpec

TOPIC = "hivebus.tasks"
RETENTION_MS = 7 * 24 * 3600 * 1000  # as HIVEBUS_DURABLE_RETENTION_S's default
SPEC = TopicSpec(
    TOPIC,
    partitions=6,
    config={
        "cleanup.policy": "compact,delete",
        "retention.ms": str(RETENTION_MS),
        "min.cleanable.dirty.ratio": "0.1",
    },
)


class TaskRecord(Record, avsc=Path(__file__).parent / "schemas" / "Task.avsc"):
    task_id: str
    agent: str
    topic: str
    type: str
    key: str | None = None
    submitted_at: str
    context_id: str | None = None  # A2A tasks: their context, and the message that started them
    message: str | None = None
