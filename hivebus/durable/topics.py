"""The topics of each durable agent.

`hivebus.runs.<agent>` is the run inbox (key = run id); `hivebus.journal.<agent>` holds each
run's journal (key = run id, compacted), partition for partition beside it: the worker that
holds partition p of the inbox reads and writes partition p of the journal; large step
results go to partition p of `hivebus.blobs.<agent>`. One set per agent, like its
dead-letter topic, so an agent reads only its own runs.
"""

from __future__ import annotations

from hivebus.kafka.admin import TopicSpec

PARTITIONS = 6


def run_agent(agent: str) -> str:
    """The name (and consumer group) of the agent that executes `agent`'s runs."""
    return f"{agent}.runs"


def runs_topic(agent: str) -> str:
    return f"hivebus.runs.{agent}"


def journal_topic(agent: str) -> str:
    return f"hivebus.journal.{agent}"


def blobs_topic(agent: str) -> str:
    return f"hivebus.blobs.{agent}"


def topic_specs(agent: str, partitions: int = PARTITIONS) -> list[TopicSpec]:
    compacted = {"cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.1"}
    return [
        TopicSpec(runs_topic(agent), partitions=partitions),
        TopicSpec(journal_topic(agent), partitions=partitions, config=compacted),
        TopicSpec(blobs_topic(agent), partitions=partitions, config=compacted),
    ]
