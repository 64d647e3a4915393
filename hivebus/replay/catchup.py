"""Catch-up: a new agent (a new consumer group) reads its topics from the earliest offsets,
with a progress line, until its group has committed the end offsets its topics had when it
started; from there it simply goes on, live.

Progress is the group's committed offsets (read with the admin API) against those ends, so it
counts the work of every replica of the group, and "caught up" means committed, not merely
read. The end of a partition is one past its last record a `read_committed` reader gets:
a transaction's commit marker after it is never delivered, so the group's commit stops there.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TextIO

import confluent_kafka.admin as admin_api
from confluent_kafka.admin import AdminClient

from hivebus.errors import ConfigError
from hivebus.kafka.admin import admin_client
from hivebus.kafka.defaults import CONSUMER_DEFAULTS
from hivebus.replay.groups import committed_offsets
from hivebus.replay.progress import Progress
from hivebus.replay.ranges import Partition, Range, list_offsets, partitions_of, subscribed_topics
from hivebus.replay.reader import BoundedReader
from hivebus.runtime.agent import Agent
from hivebus.runtime.worker import Worker

EARLIEST = ("earliest", "smallest", "beginning")
FIRST_TAIL = 64  # records looked at, from the end, to find a partition's last record


@dataclass(frozen=True)
class Goal:
    """Where one partition starts for a group, and the offset it must commit to be caught up."""

    group: str
    topic: str
    partition: int
    start: int
    end: int
    resumed: bool = False  # the group had committed this partition already

    @property
    def size(self) -> int:
        return max(0, self.end - self.start)


def check_from_earliest(agents: list[Agent], overrides: Mapping[str, Any]) -> None:
    """Catch-up needs a new group to start at the earliest offsets (hivebus's default)."""
    for agent in agents:
        reset = {**CONSUMER_DEFAULTS, **agent.consumer_config, **overrides}["auto.offset.reset"]
        if str(reset) not in EARLIEST:
            raise ConfigError(
                f"catch-up reads from the earliest offsets, but {agent.name} sets "
                f"auto.offset.reset={reset}: drop that setting"
            )


def goals(admin: AdminClient, agents: list[Agent], timeout_s: float = 30.0) -> list[Goal]:
    """For each agent's group and partition: from its commit (else the earliest offset) to
    the end as it is now."""
    existing = admin.list_topics(timeout=timeout_s).topics
    found: list[Goal] = []
    for agent in agents:
        partitions = partitions_of(admin, subscribed_topics(agent, existing), timeout_s)
        if not partitions:
            continue
        low = list_offsets(admin, partitions, admin_api.OffsetSpec.earliest(), timeout_s)  # type: ignore[attr-defined,no-untyped-call]
        high = list_offsets(admin, partitions, admin_api.OffsetSpec.latest(), timeout_s)  # type: ignore[attr-defined,no-untyped-call]
        ends = last_record_ends({p: (low[p], high[p]) for p in partitions})
        committed = committed_offsets(admin, agent.name, partitions, timeout_s)
        for p in partitions:
            start = committed.get(p, low[p])
            found.append(Goal(agent.name, *p, min(start, ends[p]), ends[p], p in committed))
    return found


def last_record_ends(spans: Mapping[Partition, tuple[int, int]]) -> dict[Partition, int]:
    """One past the last delivered record of each partition, looking back from its end
    further each time a tail holds only markers or aborted records."""
    ends = {p: low for p, (low, high) in spans.items() if high <= low}
    pending = {p: span for p, span in spans.items() if p not in ends}
    tail = FIRST_TAIL
    while pending:
        reader = BoundedReader(
            [Range(*p, max(low, high - tail), high) for p, (low, high) in pending.items()]
        )
        last: dict[Partition, int] = {}
        try:
            while not reader.done:
                for message in reader.batch():
                    where = (message.topic(), message.partition())
                    last[where] = max(last.get(where, 0), message.offset() + 1)
        finally:
            reader.close()
        for p, (low, high) in list(pending.items()):
            if p in last or high - tail <= low:  # found, or the whole partition was read
                ends[p] = last.get(p, low)
                del pending[p]
        tail *= 16
    return ends


async def run_catching_up(
    worker: Worker,
    *,
    out: TextIO | None = None,
    stop: asyncio.Event | None = None,
    poll_s: float = 1.0,
) -> None:
    """`worker.run(stop)`, with a progress line until its agents' groups have caught up."""
    out = out if out is not None else sys.stderr
    admin = admin_client()
    targets = await asyncio.to_thread(goals, admin, worker.agents)
    names = ", ".join(agent.name for agent in worker.agents)
    _note_existing(targets, out)
    task = asyncio.ensure_future(worker.run(stop))
    total = sum(goal.size for goal in targets)
    bar = Progress(f"catch-up {names}", total, out=out)
    if total == 0:
        bar.finish(f"catch-up {names}: nothing to catch up; running live")
    else:
        while not task.done():
            await asyncio.wait({task}, timeout=poll_s)
            if task.done():
                break
            done = await asyncio.to_thread(_done, admin, targets)
            bar.update(done)
            if done >= total:
                bar.finish(
                    f"catch-up {names}: caught up, {total:,} record(s) in "
                    f"{bar.elapsed_s:.1f} s ({bar.rate:,.0f}/s); continuing live"
                )
                break
    await task


def _done(admin: AdminClient, targets: list[Goal]) -> int:
    """Records committed so far towards the goals (each partition counts up to its end)."""
    done = 0
    for group in sorted({goal.group for goal in targets}):
        mine = [goal for goal in targets if goal.group == group and goal.size]
        try:
            committed = committed_offsets(admin, group, [(g.topic, g.partition) for g in mine], 10)
        except Exception:  # a slow coordinator: count nothing new this time
            committed = {}
        for goal in mine:
            offset = committed.get((goal.topic, goal.partition), goal.start)
            done += min(max(offset, goal.start), goal.end) - goal.start
    return done


def _note_existing(targets: list[Goal], out: TextIO) -> None:
    """Say so when a group is not new: it catches up from its commits, not the beginning."""
    for group in sorted({goal.group for goal in targets}):
        mine = [goal for goal in targets if goal.group == group]
        if any(goal.resumed for goal in mine):
            out.write(
                f"catch-up: group {group} already has committed offsets; it catches up from "
                "them, not from the beginning\n"
            )
