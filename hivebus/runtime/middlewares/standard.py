"""The chain every agent runs, outermost first: dead-lettering sees what finally failed, the
agent's own middlewares see the whole handling of one record, retry repeats what is inside
it, metrics time each attempt, and the time limit (only when one is set) bounds it. An
agent's middleware that says `outermost = True` goes before dead-lettering, so it sees
whether the record was dead-lettered (the audit). Among those, one that also says
`forwards_notices = True` (tracing: its observer passes the runtime's notices on to the one
it finds) goes inside the others, whatever the order they are listed in, so both hear every
notice."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, cast

from hivebus.runtime.middlewares.dead_letters import DeadLettering
from hivebus.runtime.middlewares.measure import Measuring
from hivebus.runtime.middlewares.retry import Retrying
from hivebus.runtime.middlewares.time_limit import TimeLimit

if TYPE_CHECKING:
    from hivebus.runtime.agent import Agent
    from hivebus.runtime.metrics import AgentStats
    from hivebus.runtime.middleware import Middleware
    from hivebus.runtime.outbox import Outbox


def standard_chain(
    agent: Agent, outbox: Outbox, stats: AgentStats, log: logging.Logger
) -> list[Middleware]:
    own = cast("list[Middleware]", agent.middleware)
    outermost = sorted(  # the audit, then tracing (a stable sort: else as listed)
        (m for m in own if getattr(m, "outermost", False)),
        key=lambda m: bool(getattr(m, "forwards_notices", False)),
    )
    chain: list[Middleware] = [
        *outermost,
        DeadLettering(outbox, log),
        *[m for m in own if not getattr(m, "outermost", False)],
        Retrying(),
        Measuring(stats),
    ]
    if agent.handler_timeout_s is not None:  # one link less per event otherwise
        chain.append(TimeLimit())
    return chain
