"""A durable agent, as the worker runs it: an intake agent and a run agent.

The intake agent keeps the agent's name (its consumer group) and subscriptions; for each event
it publishes a start request, keyed by the run id, to `hivebus.runs.<agent>` (in exactly-once
mode in the same transaction as the event's offset). The run agent, `<agent>.runs`, consumes
that inbox and executes each run (see runs.py). So a slow run holds no offset of the source
topic, and a run's journal lives on the partition that its requests arrive on. An agent that
calls others also gets `<agent>.replies`, which routes their replies back (see replies.py).
"""

from __future__ import annotations

from hivebus.durable.calls import Callee
from hivebus.durable.records import RunRequest
from hivebus.durable.replies import reply_router
from hivebus.durable.run import stamp
from hivebus.durable.runs import Runs
from hivebus.durable.topics import run_agent, runs_topic, topic_specs
from hivebus.errors import ConfigError
from hivebus.kafka.records import Consumed
from hivebus.runtime import Agent, Context, Ordering

START = "start"


def expand(agent: Agent) -> list[Agent] | None:
    if not agent.durable:
        if agent.calls:
            raise ConfigError(f"Agent.calls of {agent.name!r} needs durable=True: calls are made "
                              "from durable runs")  # fmt: skip
        return None
    check_durable(agent)
    inbox = runs_topic(agent.name)
    intake = Agent(
        agent.name, version=agent.version, description=agent.description,
        max_in_flight=agent.max_in_flight, ordering=agent.ordering, retry=agent.retry,
        guarantee=agent.guarantee, consumer_config=agent.consumer_config,
        topics=[*agent.topics, *topic_specs(agent.name)],
        publishes=agent.outputs,  # what its runs write: the directory shows the whole agent
    )  # fmt: skip

    async def start(event: object, ctx: Context) -> None:
        await ctx.publish(inbox, start_request(ctx.event_id, ctx.message), key=ctx.event_id)

    for handler in agent.handlers:
        intake.on(handler.topic, handler.event_type)(start)
    runner = Agent(
        run_agent(agent.name), version=agent.version, description=agent.description,
        max_in_flight=agent.max_in_flight, ordering=Ordering.KEY, retry=agent.retry,
        handler_timeout_s=agent.handler_timeout_s, guarantee=agent.guarantee,
        consumer_config=agent.consumer_config, middleware=agent.middleware,
        views=agent.views,  # its runs execute the handlers: they read the views
    )  # fmt: skip
    runs = Runs(agent)
    runner.partition_hooks += [runs.timers, runs.sweeper]
    runner.on(inbox, RunRequest)(runs.handle)
    if not agent.calls:
        return [intake, runner]
    return [intake, runner, reply_router(agent, agent.calls)]


def check_durable(agent: Agent) -> None:
    """What a durable agent must be, wherever its runs execute (a worker, a replay)."""
    for callee in agent.calls:
        if not isinstance(callee, Callee):
            raise ConfigError(f"Agent.calls of {agent.name!r} takes hivebus.durable.Callee "
                              f"declarations, got {type(callee).__name__}")  # fmt: skip
    if not agent.handlers:
        raise ConfigError(f"agent {agent.name!r} has no handlers: declare one with @agent.on")
    for handler in agent.handlers:
        if not handler.is_async:
            raise ConfigError(
                f"{handler.fn.__name__} of durable agent {agent.name!r} must be `async def`: "
                "its steps are awaited"
            )


def start_request(run_id: str, message: Consumed) -> RunRequest:
    headers = {
        name: value if isinstance(value, bytes) else value.encode()
        for name, value in message.headers() or []
        if value is not None
    }
    return RunRequest(
        run_id=run_id, kind=START, topic=message.topic(), partition=message.partition(),
        offset=message.offset(), key=message.key(), value=message.value() or b"",
        headers=headers, requested_at=stamp(),
    )  # fmt: skip
