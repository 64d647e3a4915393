"""A worker process: runs one or more agents until SIGTERM, then leaves gracefully.

All agents of a worker share one idempotent producer and one registry client; each has its
own consumer (its group) and dispatcher. On SIGTERM/SIGINT every agent drains its in-flight
work (up to the grace), commits, leaves its group, and announces "stopped".
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import threading
from wsgiref.simple_server import WSGIServer

from hivebus.contracts import Serde, registry_client
from hivebus.errors import ConfigError, HivebusError
from hivebus.kafka.access import check_access
from hivebus.kafka.admin import TopicSpec, admin_client, ensure_topics
from hivebus.kafka.config import producer_config
from hivebus.kafka.producer import AsyncProducer
from hivebus.llm import LLM
from hivebus.runtime import directory, extensions
from hivebus.runtime.agent import Agent
from hivebus.runtime.deadletter import dlq_topic
from hivebus.runtime.http import serve
from hivebus.runtime.probes import Probes
from hivebus.runtime.runner import AgentRunner

log = logging.getLogger("hivebus.worker")


class RunnerDied(HivebusError):
    """An agent's consumer thread died: the worker stopped, and exits non-zero."""

    def __init__(self, agent: str, cause: BaseException | None) -> None:
        reason = f"{type(cause).__name__}: {cause}" if cause is not None else "it ended"
        super().__init__(f"agent {agent} stopped consuming ({reason}); the worker stopped")
        self.agent = agent


def tune_gc() -> None:
    """For a process that is a worker: fewer, cheaper garbage collections.

    Everything alive after start-up (modules, agents, contracts) moves to the permanent
    generation, and young collections run ten times less often. Measured on the pass-through
    benchmark: about 10% less time per event. Called by `hivebus run`, not by `Worker`,
    because it changes settings of the whole process.
    """
    gc.freeze()
    gc.set_threshold(7000, 10, 10)


class Worker:
    def __init__(
        self,
        agents: list[Agent],
        *,
        metrics_port: int | None = None,
        heartbeat_s: float = 10.0,
        drain_grace_s: float = 15.0,
        consumer_overrides: dict[str, object] | None = None,
        producer_overrides: dict[str, object] | None = None,
        llm: LLM | None = None,
    ) -> None:
        if not agents:
            raise ConfigError("a worker needs at least one agent")
        self.agents = extensions.expand(agents)
        names = [agent.name for agent in self.agents]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ConfigError(f"agent names must be unique in a worker: {', '.join(duplicates)}")
        self.metrics_port = metrics_port
        self.heartbeat_s = heartbeat_s
        self.drain_grace_s = drain_grace_s
        self.consumer_overrides = dict(consumer_overrides or {})
        self.producer_overrides = dict(producer_overrides or {})
        self.instance = directory.instance_id()
        self.runners: list[AgentRunner] = []
        self._llm = llm
        self.ready = asyncio.Event()
        self.probes: Probes | None = None
        self._http: WSGIServer | None = None

    def llm(self) -> LLM:
        if self._llm is None:
            self._llm = LLM.from_env()
        return self._llm

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Run until `stop` is set (or a signal arrives), then shut down gracefully.

        Raises `RunnerDied` (after stopping the other agents) if an agent stops consuming.
        """
        stop = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        # Wrong credentials or an untrusted certificate fail here within a second, naming
        # the setting, instead of as a metadata timeout half a minute later.
        await asyncio.to_thread(check_access)
        admin = admin_client()
        specs = [directory.SPEC] + [TopicSpec(dlq_topic(a.name)) for a in self.agents]
        specs += [spec for agent in self.agents for spec in agent.topics]
        specs += [  # a middleware's own topics (the audit's), declared as `topics`
            spec for agent in self.agents for m in agent.middleware
            for spec in getattr(m, "topics", ())
        ]  # fmt: skip
        await asyncio.to_thread(ensure_topics, admin, specs)
        serde = Serde(registry_client())
        self.probes = Probes(admin, serde)
        producer = AsyncProducer(
            producer_config(f"hivebus-worker-{self.instance}", self.producer_overrides), loop
        )
        try:
            self.runners = [
                AgentRunner(
                    agent, serde=serde, producer=producer, llm_factory=self.llm,
                    instance=self.instance, drain_grace_s=self.drain_grace_s,
                    consumer_overrides=self.consumer_overrides,
                    producer_overrides=self.producer_overrides,
                )
                for agent in self.agents
            ]  # fmt: skip
            await asyncio.gather(*(runner.prepare() for runner in self.runners))
        except BaseException:  # nothing consumes yet: nothing to drain or commit
            producer.close()
            raise
        if self.metrics_port is not None:
            self._http = serve(self.metrics_port, live=self.liveness, ready=self.readiness)
            log.info("metrics, /healthz and /readyz on http://0.0.0.0:%d", self.metrics_port)
        for runner in self.runners:
            runner.start()
        started_at = directory.now()
        background = [
            loop.create_task(self._announce(serde, producer, started_at)),
            loop.create_task(self.probes.run(self.runners)),
        ]
        self._install_signals(stop)
        self.ready.set()
        died = await self._supervise(stop)
        try:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            results = await asyncio.gather(
                *(r.stop() for r in self.runners if r is not died), return_exceptions=True
            )
            await self._publish_announcements(serde, producer, started_at, "stopped", died)
            await producer.flush()
            await self._middleware_stopped()
        finally:
            producer.close()
            if self._http is not None:
                self._http.shutdown()
                self._http.server_close()
            if self._llm is not None:
                await self._llm.aclose()
        if died is not None:
            raise RunnerDied(died.agent.name, died.failed)
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def _middleware_stopped(self) -> None:
        """Tell each middleware with an `async def stopped()` that the worker stopped (so
        tracing exports what it buffered), once per middleware however many agents share it."""
        seen: set[int] = set()
        for middleware in (m for agent in self.agents for m in agent.middleware):
            stopped = getattr(middleware, "stopped", None)
            if stopped is None or id(middleware) in seen:
                continue
            seen.add(id(middleware))
            try:
                await stopped()
            except Exception as error:  # the agents have stopped: report it, go on
                log.warning("%s failed as the worker stopped: %s", type(middleware).__name__,
                            error)  # fmt: skip

    def liveness(self) -> dict[str, bool]:
        """Each agent's consumer thread still runs (read from the HTTP thread)."""
        return {f"agent:{r.agent.name}": not r.consumer.closed.is_set() for r in self.runners}

    def readiness(self) -> dict[str, bool]:
        """Every agent joined its group, and the broker and the registry answer."""
        checks = {f"joined:{r.agent.name}": r.joined for r in self.runners}
        probes = self.probes
        checks["broker"] = probes is not None and probes.broker_ok
        checks["registry"] = probes is not None and probes.registry_ok
        return checks

    async def _supervise(self, stop: asyncio.Event) -> AgentRunner | None:
        """Wait for `stop`, or for a runner's consumer thread to die: the runner that died.

        A dead consumer thread means the agent no longer consumes, commits or answers its
        group; its partitions are, or soon will be, given to other members. The worker does
        not restart it in-process: it announces the agent "failed", stops the other agents
        gracefully and exits non-zero, so that what restarts processes (Kubernetes, Compose,
        systemd) restarts it with its own backoff and a crash loop stays visible there.
        """
        waits = {asyncio.ensure_future(stop.wait()): None} | {
            asyncio.ensure_future(r.consumer.closed.wait()): r for r in self.runners
        }
        done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        died = next((waits[t] for t in done if waits[t] is not None), None)
        if died is not None:
            log.error(
                "agent %s stopped consuming (%s); stopping the worker",
                died.agent.name, died.failed or "its consumer thread ended",
            )  # fmt: skip
        return died

    async def _announce(self, serde: Serde, producer: AsyncProducer, started_at: str) -> None:
        while True:
            try:
                await self._publish_announcements(serde, producer, started_at, "running")
            except Exception as error:  # the directory is advisory: never stop the agents
                log.warning("directory heartbeat failed: %s", error)
            await asyncio.sleep(self.heartbeat_s)

    async def _publish_announcements(
        self,
        serde: Serde,
        producer: AsyncProducer,
        started_at: str,
        status: str,
        died: AgentRunner | None = None,
    ) -> None:
        encoder = await serde.encoder_async(directory.TOPIC, directory.AgentAnnouncement)
        for runner in self.runners:
            record = directory.announcement(
                runner.agent, self.instance, started_at, self.heartbeat_s,
                runner.outbox.emitted, "failed" if runner is died else status, runner.stats,
            )  # fmt: skip
            await producer.send(directory.TOPIC, encoder.encode(record), key=runner.agent.name)

    def _install_signals(self, stop: asyncio.Event) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
