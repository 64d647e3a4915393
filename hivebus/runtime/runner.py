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
from hivebus.kafka.config import consumer_config
from hivebus.kafka.consumer import ConsumerThread
from hivebus.runtime import metrics
from hivebus.runtime.agent import Agent
from hivebus.runtime.assignment import Assignments
from hivebus.runtime.checkpointer import Checkpointer
from hivebus.runtime.dispatcher import Dispatcher, names
from hivebus.runtime.executor import Executor
from hivebus.runtime.middleware import Middleware
from hivebus.runtime.middlewares import DeadLettering, Measuring, Retrying, TimeLimit
from hivebus.runtime.outbox import Outbox

if TYPE_CHECKING:
    from hivebus.kafka.producer import AsyncProducer
    from hivebus.llm import LLM

log = logging.getLogger("hivebus.runtime")
REBALANCE_MARGIN_S = 30.0  # beyond the grace, for the final commit and cancelled jobs


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
        self.checkpointer = Checkpointer(
            self.assignments, self._queue_commit, interval_s=commit_interval_s, log=self._log
        )
        self.consumer = ConsumerThread(
            config,
            agent.subscriptions,
            asyncio.get_running_loop(),
            on_batch=self._on_batch,
            on_assign=self._assign,
            on_revoke=self._revoke,
            on_commit=self.checkpointer.committed,
            on_final_commit=self.checkpointer.final_committed,
            rebalance_timeout_s=drain_grace_s + REBALANCE_MARGIN_S,
        )
        self.outbox = Outbox(
            agent.name, serde=serde, producer=producer, stats=self.stats, log=self._log
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
            middlewares=self._middlewares(),
            llm_factory=self._agent_llm,
            released=self.dispatcher.released,
            ended=self.dispatcher.ended,
            log=self._log,
        )
        self.dispatcher.start_job = self.executor.start
        self.dispatcher.cancel_job = self.executor.cancel
        self.joined = False  # the group answered with a first assignment (maybe empty)
        self._worker_llm = llm_factory
        self._llm: LLM | None = None

    def _middlewares(self) -> list[Middleware]:
        """Outermost first: dead-lettering sees what finally failed; the agent's own
        middlewares see every attempt of one record; retry repeats what is inside it."""
        return [
            DeadLettering(self.outbox, self._log),
            *self.agent.middleware,
            Retrying(),
            Measuring(self.stats),
            TimeLimit(),
        ]

    def _agent_llm(self) -> LLM:
        """The worker's LLM client, bound to this agent for metering (made on first use)."""
        if self._llm is None:
            self._llm = self._worker_llm().for_agent(self.agent.name)
        return self._llm

    def start(self) -> None:
        self.consumer.start()
        self.checkpointer.start()
        log.info("agent %s subscribed to %s", self.agent.name, ", ".join(self.agent.subscriptions))

    async def stop(self) -> None:
        """Leave the group: closing the consumer revokes everything (drain, final commit)."""
        await self.checkpointer.stop()
        self.consumer.stop()
        await self.consumer.closed.wait()
        if self.consumer.error is not None:
            raise self.consumer.error

    @property
    def failed(self) -> BaseException | None:
        """What killed the consumer thread, if it died while the worker was running."""
        return self.consumer.error

    def _queue_commit(self, offsets: list[TopicPartition]) -> None:
        self.consumer.commit(offsets)

    def _on_batch(self, messages: list[Any]) -> None:
        self.dispatcher.on_batch(messages)

    async def _assign(self, committed: list[TopicPartition]) -> None:
        self.dispatcher.assign(committed)
        self.joined = True
        self._log.info("assigned %s", names([(tp.topic, tp.partition) for tp in committed]))

    async def _revoke(self, partitions: list[TopicPartition], lost: bool) -> list[TopicPartition]:
        """Stop intake, let running jobs end within the grace (none for a lost partition),
        cancel the rest, and say what to commit (nothing for a lost partition)."""
        gone = [(tp.topic, tp.partition) for tp in partitions]
        held = [a for p in gone if (a := self.assignments.get(p)) is not None]
        await self.dispatcher.stop_intake(held, grace_s=0.0 if lost else self.drain_grace_s)
        offsets = [] if lost else self.checkpointer.final(held)
        for assignment in held:
            assignment.revoked = True
            self.assignments.pop(assignment.partition, None)
        self._log.info("%s %s", "lost" if lost else "revoked", names(gone))
        return offsets
