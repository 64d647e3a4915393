"""Routing replies back to the runs that called: the agent `<agent>.replies`.

It reads the reply topics of the agent's callees. A reply whose `ce_causationid` is one of
the agent's call ids (see calls.py) becomes a signal request on the run inbox, keyed by the
run, carrying the reply's value bytes as they came; the run's gather takes it from there.
Every other event on those topics (replies to someone else) is passed over.
"""

from __future__ import annotations

from hivebus.contracts import EventMeta, Record, parse_headers
from hivebus.durable.calls import Callee, parse_call_id, reply_signal
from hivebus.durable.records import RunRequest
from hivebus.durable.run import stamp
from hivebus.durable.topics import runs_topic
from hivebus.runtime import Agent, Context, Ordering

SIGNAL = "signal"


def reply_router(agent: Agent, callees: list[Callee]) -> Agent:
    inbox = runs_topic(agent.name)
    router = Agent(
        f"{agent.name}.replies", version=agent.version, description=agent.description,
        max_in_flight=agent.max_in_flight, ordering=Ordering.UNORDERED, retry=agent.retry,
        guarantee=agent.guarantee, consumer_config=agent.consumer_config,
    )  # fmt: skip

    async def forward(reply: Record, ctx: Context) -> None:
        meta: EventMeta | None = parse_headers(ctx.message.headers())
        found = parse_call_id(meta.causation_id or "", agent.name) if meta else None
        if meta is None or found is None:
            return
        run_id, position = found
        request = RunRequest(
            run_id=run_id, kind=SIGNAL, signal=reply_signal(position, meta.id),
            payload=ctx.message.value(), requested_at=stamp(),
        )  # fmt: skip
        await ctx.publish(inbox, request, key=run_id)

    for reply_topic, returns in dict.fromkeys((c.reply_topic, c.returns) for c in callees):
        router.on(reply_topic, returns)(forward)
    return router
