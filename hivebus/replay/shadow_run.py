"""The new version of an agent, run in-process over fixed offset ranges, into shadow topics.

The runtime's own rooms do the work — the dispatcher (key order, `max_in_flight`), the
executor with the agent's middleware chain (retry, time limit, dead-lettering), the outbox —
so the new version behaves as it will in a worker. Only the edges differ: records come from a
`BoundedReader` (assign(), no group, no commit), and every record produced goes through a
`ShadowOutbox` and `ShadowProducer` to a shadow topic. There is no checkpointer and no
directory announcement: a replay leaves no trace on live topics or groups.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from confluent_kafka import TopicPartition
from confluent_kafka.admin import AdminClient

from hivebus.contracts import Serde, UndecodableRecord
from hivebus.contracts.headers import raw_lineage
from hivebus.kafka.admin import TopicSpec, ensure_topics
from hivebus.kafka.config import producer_config
from hivebus.kafka.records import Consumed
from hivebus.llm import LLM
from hivebus.replay.diff import InputRef
from hivebus.replay.names import ShadowNames
from hivebus.replay.ranges import Range
from hivebus.replay.reader import BoundedReader
from hivebus.replay.recorded import MarkInput
from hivebus.replay.shadow import Produced, ShadowOutbox, ShadowProducer
from hivebus.runtime import metrics
from hivebus.runtime.agent import Agent
from hivebus.runtime.assignment import Assignment, Assignments
from hivebus.runtime.deadletter import dlq_topic
from hivebus.runtime.dispatcher import Dispatcher
from hivebus.runtime.executor import Executor
from hivebus.runtime.job import Job, JobState
from hivebus.runtime.middleware import Middleware
from hivebus.runtime.middlewares.standard import standard_chain
from hivebus.runtime.offsets import PartitionOffsets
from hivebus.runtime.step_source import StepSource
from hivebus.runtime.views import close_all, start_all

SHADOW_RETENTION_MS = str(7 * 24 * 3600 * 1000)  # a forgotten shadow topic empties itself
Progress = Callable[[int, int], None]


@dataclass
class ShadowResult:
    inputs: list[InputRef] = field(default_factory=list)
    produced: list[Produced] = field(default_factory=list)
    outside: int = 0  # records in the offset ranges timestamped outside the times
    shadow_topics: set[str] = field(default_factory=set)


class ShadowRun:
    def __init__(
        self,
        agent: Agent,
        *,
        names: ShadowNames,
        serde: Serde,
        admin: AdminClient,
        llm: LLM,
        recorded: bool = False,
        steps: StepSource | None = None,
        partitions: dict[str, int] | None = None,
        outcomes: Mapping[tuple[str, int, int], str] | None = None,
    ) -> None:
        self.agent = agent
        self.names = names
        self.serde = serde
        self.admin = admin
        self.recorded = recorded  # mark each handling, so recorded LLM answers can be found
        self.steps = steps  # what serves the steps, when they come from the record
        self._llm = llm
        self._partitions = partitions or {}  # live topic -> partitions, for its shadow
        # Inputs whose outcome the agent itself tells (a durable run that did not complete).
        self._outcomes_told = outcomes if outcomes is not None else {}
        self._log = logging.getLogger(f"hivebus.replay.{agent.name}")
        self._result = ShadowResult()
        self._refs: dict[tuple[str, int, int], InputRef] = {}  # in the order handed out
        self._outcomes: dict[tuple[str, int, int], str] = {}
        self._handed = 0
        self._ended = 0
        self._changed = asyncio.Event()
        self._created: set[str] = set()
        self._creating: dict[str, asyncio.Task[None]] = {}

    async def run(
        self,
        ranges: list[Range],
        *,
        start_ms: int | None,
        end_ms: int | None,
        progress: Progress | None = None,
    ) -> ShadowResult:
        loop = asyncio.get_running_loop()
        agent, result = self.agent, self._result
        producer = ShadowProducer(
            producer_config(f"hivebus-replay-{self.names.replay_id}"), loop,
            names=self.names, seen=result.produced.append,
        )  # fmt: skip
        stats = metrics.AgentStats(agent.name)
        outbox = ShadowOutbox(
            agent.name, names=self.names, serde=self.serde, producer=producer, stats=stats,
            log=self._log, ensure=self.ensure,
        )  # fmt: skip
        assignments = Assignments()
        dispatcher = Dispatcher(
            agent, assignments=assignments, pause=_unused, resume=_unused, stats=stats,
            log=self._log,
        )  # fmt: skip
        chain: list[Middleware] = standard_chain(agent, outbox, stats, self._log)
        if self.recorded or self.steps is not None:
            chain = [MarkInput(self.steps), *chain]

        def ended(job: Job, complete: bool) -> None:
            dispatcher.ended(job, complete)
            self._end(job)

        executor = Executor(
            agent, serde=self.serde, outbox=outbox, middlewares=chain,
            llm_factory=lambda: self._llm, released=dispatcher.released, ended=ended,
            log=self._log,
        )  # fmt: skip
        dispatcher.start_job, dispatcher.cancel_job = executor.start, executor.cancel
        for span in ranges:
            where = (span.topic, span.partition)
            assignments[where] = Assignment(where, PartitionOffsets())
        await self._create([*agent.outputs, dlq_topic(agent.name), *self._side_topics()])
        await asyncio.gather(*(
            outbox.prepare(h.output, model, h.output_multi_type)
            for h in agent.handlers if h.output is not None for model in h.output_types
        ))  # fmt: skip
        held = [(*a.partition, a.generation) for a in assignments.values()]
        start_all(agent.views)
        for hooks in agent.partition_hooks:
            hooks.assigned(held)
        reader = BoundedReader(ranges, start_ms=start_ms, end_ms=end_ms)
        total = sum(span.size for span in ranges)
        ahead = max(2_000, 8 * agent.max_in_flight)  # records handed out and not yet ended
        try:
            while not reader.done:
                while self._handed - self._ended > ahead:
                    await self._next_change()
                batch = await asyncio.to_thread(reader.batch)
                self._hand(dispatcher, batch)
                if progress is not None:
                    progress(self._ended, total)
            while self._ended < self._handed:
                await self._next_change()
                if progress is not None:
                    progress(self._ended, total)
            await producer.flush()
        finally:
            result.outside = reader.outside
            await asyncio.to_thread(reader.close)
            for hooks in agent.partition_hooks:
                hooks.revoked(held)
            close_all(agent.views)
            producer.close()
        if progress is not None:
            progress(self._ended, self._ended)
        result.shadow_topics = set(self._created)
        result.inputs = [
            replace(ref, outcome=self._outcomes.get(where, "cancelled"))
            for where, ref in self._refs.items()
        ]
        return result

    async def ensure(self, shadow: str) -> None:
        """Create a shadow topic once, the first time something is written to it."""
        if shadow in self._created:
            return
        task = self._creating.get(shadow)
        if task is None:
            task = self._creating[shadow] = asyncio.ensure_future(self._create([shadow]))
        await task

    async def _create(self, topics: list[str]) -> None:
        specs = []
        for topic in dict.fromkeys(self.names.shadow(t) for t in topics):
            live = self.names.live(topic)
            specs.append(TopicSpec(
                topic, partitions=self._partitions.get(live, 1),
                config={"retention.ms": SHADOW_RETENTION_MS},
            ))  # fmt: skip
        await asyncio.to_thread(ensure_topics, self.admin, specs)
        self._created.update(spec.name for spec in specs)

    def _side_topics(self) -> list[str]:
        """Topics the agent's middleware writes (the audit's), shadowed like outputs."""
        return [spec.name for m in self.agent.middleware for spec in getattr(m, "topics", ())]

    def _hand(self, dispatcher: Dispatcher, batch: list[Consumed]) -> None:
        if not batch:
            return
        for message in batch:
            cause, _, _ = raw_lineage(message.headers())
            topic, partition, offset = message.topic(), message.partition(), message.offset()
            key = message.key()
            self._refs[(topic, partition, offset)] = InputRef(
                cause.decode(errors="replace") if cause else f"{topic}/{partition}/{offset}",
                topic, partition, offset, key.decode(errors="replace") if key else None,
            )  # fmt: skip
        self._handed += len(batch)
        dispatcher.on_batch(batch)

    def _end(self, job: Job) -> None:
        self._ended += 1
        message = job.message
        where = (message.topic(), message.partition(), message.offset())
        self._outcomes[where] = self._outcome(job)
        self._changed.set()

    def _outcome(self, job: Job) -> str:
        message = job.message
        told = self._outcomes_told.get((message.topic(), message.partition(), message.offset()))
        if told is not None:
            return told
        if job.state is JobState.DEAD_LETTERED:
            return "dead-lettered"
        if job.state is JobState.CANCELLED:
            return "cancelled"
        try:
            writer = self.serde.cached_writer(message.value() or b"")
        except UndecodableRecord:
            return "handled"
        if writer is not None and self.agent.route(message.topic(), writer.fullname) is None:
            return "skipped"
        return "handled"

    async def _next_change(self) -> None:
        self._changed.clear()
        await self._changed.wait()


def _unused(partitions: list[TopicPartition]) -> None:
    """Pause and resume: the replay's reader holds back by itself (see `ahead`)."""
