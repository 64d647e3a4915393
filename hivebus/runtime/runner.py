"""One agent in a worker process: its consumer thread, dispatcher and committer."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from confluent_kafka import Consumer

from hivebus.contracts import Serde
from hivebus.kafka.config import consumer_config
from hivebus.kafka.consumer import ConsumerThread
from hivebus.runtime import metrics
from hivebus.runtime.agent import Agent
from hivebus.runtime.dispatcher import Dispatcher

if TYPE_CHECKING:
    from hivebus.kafka.producer import AsyncProducer
    from hivebus.llm import LLM

log = logging.getLogger("hivebus.runtime")


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
            from hivebus.errors import ConfigError

            raise ConfigError(f"agent {agent.name!r} has no handlers: declare one with @agent.on")
        self.agent = agent
        self._commit_interval_s = commit_interval_s
        loop = asyncio.get_running_loop()
        config = consumer_config(
            agent.name,
            {
                "client.id": f"{agent.name}@{instance}",
                **agent.consumer_config,
                **(consumer_overrides or {}),
            },
        )
        self._thread = ConsumerThread(
            config,
            agent.subscriptions,
            loop,
            on_batch=lambda messages: self.dispatcher.on_batch(messages),
            on_assign=lambda committed: self.dispatcher.assign(committed),
            on_revoke=lambda partitions, lost: self.dispatcher.revoke(partitions, lost),
        )
        self.dispatcher = Dispatcher(
            agent,
            serde=serde,
            producer=producer,
            consumer=self._thread,
            llm_factory=self._agent_llm,
            drain_grace_s=drain_grace_s,
        )
        self._committer: asyncio.Task[None] | None = None
        self._worker_llm = llm_factory
        self._llm: LLM | None = None

    def _agent_llm(self) -> LLM:
        """The worker's LLM client, bound to this agent for metering (made on first use)."""
        if self._llm is None:
            self._llm = self._worker_llm().for_agent(self.agent.name)
        return self._llm

    def start(self) -> None:
        self._thread.on_idle = self._measure_lag
        self._thread.start()
        self._committer = asyncio.get_running_loop().create_task(self._commit_periodically())
        log.info("agent %s subscribed to %s", self.agent.name, ", ".join(self.agent.subscriptions))

    async def stop(self) -> None:
        """Leave the group: drain in-flight work (up to the grace), commit, close."""
        if self._committer is not None:
            self._committer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._committer
        self._thread.stop()
        await self._thread.closed.wait()
        if self._thread.error is not None:
            raise self._thread.error

    @property
    def failed(self) -> BaseException | None:
        return self._thread.error

    def _measure_lag(self, consumer: Consumer) -> None:
        """Consumer lag per assigned partition (runs on the consumer thread)."""
        assigned = consumer.assignment()
        if not assigned:
            return
        for tp in consumer.position(assigned):
            _, high = consumer.get_watermark_offsets(tp, cached=True)
            if high >= 0 and tp.offset >= 0:
                metrics.LAG.labels(self.agent.name, tp.topic, str(tp.partition)).set(
                    high - tp.offset
                )

    async def _commit_periodically(self) -> None:
        while True:
            await asyncio.sleep(self._commit_interval_s)
            try:
                self.dispatcher.commit()
            except Exception as error:  # a failed commit is retried at the next interval
                log.warning("commit for %s failed: %s", self.agent.name, error)
