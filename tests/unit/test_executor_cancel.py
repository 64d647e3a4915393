"""A job cancelled before its task ever ran still gives back its lane and slot."""

from __future__ import annotations

import asyncio
import logging

from confluent_kafka import TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient

from hivebus import Agent, Context
from hivebus.contracts import Serde
from hivebus.runtime import metrics
from hivebus.runtime.assignment import Assignments
from hivebus.runtime.dispatcher import Dispatcher
from hivebus.runtime.executor import Executor
from hivebus.runtime.job import JobState
from hivebus.runtime.middlewares.standard import standard_chain
from hivebus.runtime.outbox import Outbox
from tests.integration.runtime_contracts import Ping


class _Message:
    def __init__(self, value: bytes, offset: int) -> None:
        self._value, self._offset = value, offset

    def topic(self) -> str:
        return "in"

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return self._offset

    def key(self) -> bytes:
        return b"k"

    def value(self) -> bytes:
        return self._value

    def headers(self) -> None:
        return None

    def error(self) -> None:
        return None


async def test_a_job_cancelled_before_its_task_started_frees_its_slot_and_lane() -> None:
    serde = Serde(SchemaRegistryClient.new_client({"url": "mock://cancel"}))
    agent = Agent("cancel", max_in_flight=1)
    ran: list[str] = []

    @agent.on("in", Ping)
    async def slow(ping: Ping, ctx: Context) -> None:
        ran.append(ping.id)
        await asyncio.sleep(10)

    log, stats = logging.getLogger("test"), metrics.AgentStats("cancel")
    dispatcher = Dispatcher(
        agent, assignments=Assignments(), pause=lambda _: None, resume=lambda _: None,
        stats=stats, log=log,
    )  # fmt: skip
    outbox = Outbox("cancel", serde=serde, producer=None, stats=stats, log=log)  # type: ignore[arg-type]
    executor = Executor(
        agent, serde=serde, outbox=outbox, middlewares=standard_chain(agent, outbox, stats, log),
        llm_factory=lambda: None, released=dispatcher.released, ended=dispatcher.ended, log=log,  # type: ignore[arg-type, return-value]
    )  # fmt: skip
    dispatcher.start_job, dispatcher.cancel_job = executor.start, executor.cancel
    dispatcher.assign([TopicPartition("in", 0, 0)])
    value = serde.encoder("in", Ping).encode(Ping(id="p0", key="k", seq=0))
    dispatcher.on_batch([_Message(value, 0)])  # type: ignore[list-item]
    [job] = list(dispatcher.assignments[("in", 0)].running)
    assert job.task is not None and dispatcher.scheduler.running == 1

    executor.cancel(job)  # before the loop ever ran the job's task
    await asyncio.sleep(0.01)

    assert ran == [] and job.state is JobState.CANCELLED
    assert dispatcher.scheduler.running == 0  # the slot came back
    dispatcher.on_batch([_Message(value, 1)])  # type: ignore[list-item]
    await asyncio.sleep(0.01)
    assert ran == ["p0"]  # and the lane: the next record of the key runs
