"""Dead letters per agent: how many, how many not yet replayed, and which topics they came from.

The counts come from the watermarks of each `hivebus.dlq.<agent>`. They are cheap, so they
are read on every refresh. "Pending" starts at the offsets `hivebus dlq replay` committed.
Which source topic each dead letter came from is only in its headers, so those are read
with `hivebus dlq list`'s reader. That happens only when a topic's count has changed, for a
few topics per refresh, and for topics small enough to read whole.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass

from confluent_kafka.admin import AdminClient

from hivebus.gateway.dashboard.offsets import Partition, committed_offsets
from hivebus.kafka.admin import end_offsets, start_offsets
from hivebus.runtime.deadletter import PREFIX
from hivebus.runtime.dlq_reader import read_dead_letters, replay_group

SOURCES_UP_TO = 5000  # a dead-letter topic with more than this is counted, not read
SOURCE_READS_PER_REFRESH = 3
log = logging.getLogger("hivebus.gateway.dashboard")


@dataclass(frozen=True)
class DeadLetterCount:
    agent: str
    topic: str
    total: int  # kept on the topic now
    pending: int  # not replayed yet
    sources: dict[str, int] | None = None  # source topic -> count; None: not read (yet)

    def data(self) -> dict[str, object]:
        return {
            "agent": self.agent,
            "topic": self.topic,
            "total": self.total,
            "pending": self.pending,
            "sources": self.sources,
        }


def count(
    starts: dict[Partition, int], ends: dict[Partition, int], replayed: dict[Partition, int]
) -> tuple[int, int]:
    """(total, pending) of one topic from its partitions' starts, ends and replay commits."""
    total = pending = 0
    for partition, end in ends.items():
        start = starts.get(partition, 0)
        total += max(0, end - start)
        pending += max(0, end - max(start, replayed.get(partition, start)))
    return total, pending


class DeadLetterCounts:
    """The counts of every dead-letter topic, with their sources once read (blocking)."""

    def __init__(self) -> None:
        self._sources: dict[str, tuple[int, dict[str, int]]] = {}  # topic -> (end sum, counts)

    def read(
        self, admin: AdminClient, partitions: dict[str, int], timeout_s: float
    ) -> list[DeadLetterCount]:
        """`partitions`: every topic of the cluster with its partition count."""
        topics = {t: n for t, n in partitions.items() if t.startswith(PREFIX)}
        wanted = [(t, p) for t, n in topics.items() for p in range(n)]
        starts, ends = (
            start_offsets(admin, wanted, timeout_s),
            end_offsets(admin, wanted, timeout_s),
        )
        found = []
        for topic in sorted(topics):
            mine = {p: o for p, o in ends.items() if p[0] == topic}
            if not any(mine.values()):
                continue  # never had a dead letter
            found.append((topic, mine, sum(mine.values())))
        replays = committed_offsets(
            admin, [replay_group(t[len(PREFIX) :]) for t, *_ in found], timeout_s
        )
        counts, reads = [], 0
        for topic, mine, end_sum in found:
            agent = topic[len(PREFIX) :]
            total, pending = count(starts, mine, replays.get(replay_group(agent), {}))
            if total == 0:
                continue
            known = self._sources.get(topic)
            stale = known is None or known[0] != end_sum
            if stale and total <= SOURCES_UP_TO and reads < SOURCE_READS_PER_REFRESH:
                reads += 1
                known = self._read_sources(agent, topic, end_sum) or known
            sources = known[1] if known is not None and total <= SOURCES_UP_TO else None
            counts.append(DeadLetterCount(agent, topic, total, pending, sources))
        return counts

    def _read_sources(
        self, agent: str, topic: str, end_sum: int
    ) -> tuple[int, dict[str, int]] | None:
        try:
            letters = read_dead_letters(agent, unreplayed_only=False, timeout_s=5.0)
            sources = Counter(letter.error.get("topic", "?") for letter in letters)
        except Exception as error:  # shown without its sources; read again next time
            log.warning("could not read the dead letters of %s: %s", topic, error)
            return None
        self._sources[topic] = (end_sum, dict(sources))
        return self._sources[topic]
