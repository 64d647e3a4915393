"""One agent in a worker process: its rooms wired together, and its rebalance sequence.

consumer thread -> dispatcher (intake) -> scheduler -> executor (middleware chain) -> outbox
-> checkpointer. The runner builds them, starts and stops them, and runs the one sequence
that involves several: a revoke (stop intake, drain or cancel, final commit, forget).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from confluent_kafka import TopicPartition

from hivebus.contracts import Serde
from hivebus.errors import ConfigError
from hivebus.kafka.config import consumer_config, producer_config
from hivebus.kafka.consumer import ConsumerThread
from hivebus.kafka.transactions import TransactionalProducer
from hivebus.runtime import metrics
from hivebus.runtime.agent import Agent
from hivebus.runtime.assignment import Assignments
from hivebus.runtime.checkpointer import Checkpointer
from hivebus.runtime.dispatcher import Dispatcher, names
from hivebus.runtime.executor import Executor
from hivebus.runtime.middlewares.standard import standard_chain
from hivebus.runtime.outbox import Outbox
from hivebus.runtime.transactional import TransactionalCheckpointer, TransactionalOutbox
from hivebus.runtime.views import close_all, start_all

if TYPE_CHECKING:
    from hivebus.kafka.producer import AsyncProducer
    from hivebus.llm import LLM

log = logging.getLogger("hivebus.runtime")
REBALANCE_MARGIN_S = 30.0  # beyond the grace, for the final commit and cancelled jobs
# Each instance has its own transactional id, so nothing fences the open transaction of one
# killed with -9: the broker aborts it after this long, and until then `read_committed`
# readers of its output partitions wait. Ours last milliseconds; librdkafka's 60 s default
# would stall downstream agents for a minute after every crash.
TRANSACTION_TIMEOUT_MS = 10_000


class AgentRunner:
    def __init__(
        self,
        agent: Agent,
        *,
        serde: Serde,
        producer: AsyncProducer,
        llm_factory: Callable[[], LLM],
        instance: str,
        commit_interval_s: float = 0.5,
        drain_grace_s: float = 15.0,
        consumer_overrides: dict[str, Any] | None = None,
        producer_overrides: dict[str, Any] | None = None,
    ) -> None:
        if not agent.handlers:
            raise ConfigError(f"agent {agent.name!r} has no handlers: declare one with @agent.on")
        self.agent = agent
        self.drain_grace_s = drain_grace_s
        self._log = logging.getLogger(f"hivebus.agent.{agent.name}")
        self.stats = metrics.AgentStats(agent.name)
        self.assignments = Assignments()
        config = consumer_config(
            agent.name,
            {
                "client.id": f"{agent.name}@{instance}",
                **agent.consumer_config,
                **(consumer_overrides or {}),
            },
        )
        self.consumer = ConsumerThread(
            config,
            agent.subscriptions,
            asyncio.get_running_loop(),
            on_batch=self._on_batch,
            on_assign=self._assign,
            on_revoke=self._revoke,
            on_commit=self._committed,
            on_final_commit=self._final_committed,
            rebalance_timeout_s=drain_grace_s + REBALANCE_MARGIN_S,
            transactional=agent.exactly_once,
        )
        self.transactions: TransactionalProducer | None = None
        self.checkpointer: Checkpointer
        if agent.exactly_once:
            self.transactions = TransactionalProducer(
                producer_config(
                    f"{agent.name}@{instance}",
                    {"transactional.id": f"hivebus-{agent.name}-{instance}",
                     "transaction.timeout.ms": TRANSACTION_TIMEOUT_MS,
                     **(producer_overrides or {})},
                )
            )  # fmt: skip
            outbox = TransactionalOutbox(
                agent.name, serde=serde, producer=producer, stats=self.stats, log=self._log,
                version=agent.version,
                max_bytes=int((producer_overrides or {}).get("message.max.bytes", 1_000_000)),
            )  # fmt: skip
            self.checkpointer = TransactionalCheckpointer(
                self.assignments, outbox, self.transactions,
                lambda: self.consumer.group_metadata,
                on_fatal=self._fatal, log=self._log,
            )  # fmt: skip
            self.outbox: Outbox = outbox
        else:
            self.checkpointer = Checkpointer(
                self.assignments, self._queue_commit, interval_s=commit_interval_s, log=self._log
            )
            self.outbox = Outbox(
                agent.name,
                serde=serde,
                producer=producer,
                stats=self.stats,
                log=self._log,
                version=agent.version,
            )
        self.dispatcher = Dispatcher(
            agent,
            assignments=self.assignments,
            pause=self.consumer.pause,
            resume=self.consumer.resume,
            stats=self.stats,
            log=self._log,
        )
        self.executor = Executor(
            agent,
            serde=serde,
            outbox=self.outbox,
            middlewares=standard_chain(agent, self.outbox, self.stats, self._log),
            llm_factory=self._agent_llm,
            released=self.dispatcher.released,
            ended=self.dispatcher.ended,
            log=self._log,
        )
        self.dispatcher.start_job = self.executor.start
        self.dispatcher.cancel_job = self.executor.cancel
        self.joined = False  # the group answered with a first assignment (maybe empty)
        self._fatal_error: BaseException | None = None
        self._worker_llm = llm_factory
        self._llm: LLM | None = None

    def _agent_llm(self) -> LLM:
        """The worker's LLM client, bound to this agent for metering (made on first use)."""
        if self._llm is None:
            self._llm = self._worker_llm().for_agent(self.agent.name)
        return self._llm

    async def prepare(self) -> None:
        """Before consuming: register the transactional id (exactly-once), the output
        contracts the handlers declare, and let each middleware with an `async def
        prepare(outbox)` get ready. A contract the registry refuses raises here."""
        if self.transactions is not None:
            await asyncio.to_thread(self.transactions.start)
        await asyncio.gather(*(
            self.outbox.prepare(h.output, model, h.output_multi_type)
            for h in self.agent.handlers if h.output is not None
            for model in h.output_types
        ))  # fmt: skip
        for middleware in self.agent.middleware:  # one that writes records of its own (the
            prepare = getattr(middleware, "prepare", None)  # audit) settles their schemas
            if prepare is not None:
                await prepare(self.outbox)

    def start(self) -> None:
        start_all(self.agent.views)  # their replicas follow the changelogs from now on
        self.consumer.start()
        self.checkpointer.start()
        log.info("agent %s subscribed to %s", self.agent.name, ", ".join(self.agent.subscriptions))

    async def stop(self) -> None:
        """Leave the group: closing the consumer revokes everything (drain, final commit)."""
        await self.checkpointer.stop()
        self.consumer.stop()
        try:
            await self.consumer.closed.wait()
        finally:
            close_all(self.agent.views)
        if self.transactions is not None:
            self.transactions.close()
        if self.consumer.error is not None:
            raise self.consumer.error

    @property
    def failed(self) -> BaseException | None:
        """What stopped the agent: its consumer thread's death, or a fatal transaction error."""
        return self.consumer.error or self._fatal_error

    def _fatal(self, error: BaseException) -> None:
        """Exactly-once can no longer commit: stop consuming, so the worker sees it and exits."""
        self._fatal_error = error
        self.consumer.stop()

    def _committed(self, error: Any, partitions: list[TopicPartition]) -> None:
        self.checkpointer.committed(error, partitions)

    def _final_committed(self, partitions: list[TopicPartition]) -> None:
        self.checkpointer.final_committed(partitions)

    def _queue_commit(self, offsets: list[TopicPartition]) -> None:
        self.consumer.commit(offsets)

    def _on_batch(self, messages: list[Any]) -> None:
        self.dispatcher.on_batch(messages)

    async def _assign(self, committed: list[TopicPartition]) -> None:
        fresh = self.dispatcher.assign(committed)
        held = [(*a.partition, a.generation) for a in fresh]
        for hooks in self.agent.partition_hooks:
            hooks.assigned(held)
        self.joined = True
        self._log.info("assigned %s", names([(tp.topic, tp.partition) for tp in committed]))

    async def _revoke(self, partitions: list[TopicPartition], lost: bool) -> list[TopicPartition]:
        """Stop intake, let running jobs end within the grace (none for a lost partition),
        cancel the rest, and say what to commit (nothing for a lost partition)."""
        gone = [(tp.topic, tp.partition) for tp in partitions]
        held = [a for p in gone if (a := self.assignments.get(p)) is not None]
        exactly_once = self.transactions is not None
        await self.dispatcher.stop_intake(
            held, grace_s=0.0 if lost else self.drain_grace_s, until_sealed=exactly_once
        )
        if exactly_once and not lost:
            assert isinstance(self.checkpointer, TransactionalCheckpointer)
            await self.checkpointer.transact(only=held)
        offsets = [] if lost else self.checkpointer.final(held)
        for assignment in held:
            for job in list(assignment.running):  # held records whose transaction failed
                self.executor.cancel(job)
            assignment.revoked = True
            self.assignments.pop(assignment.partition, None)
        for hooks in self.agent.partition_hooks:
            hooks.revoked([(*a.partition, a.generation) for a in held])
        self._log.info("%s %s", "lost" if lost else "revoked", names(gone))
        return offsets
