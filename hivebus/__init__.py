"""hivebus: multi-agent AI systems on Apache Kafka.

The public API: declare an `Agent`, handle events with a `Context`, describe events as
`Record` contracts bound to Avro schemas, run agents in a `Worker`, publish from anywhere with
a `Publisher`; `Agent(durable=True)` journals each run's steps (`ctx.step`, `ctx.call`,
`ctx.gather`, `ctx.wait_for`, `ctx.sleep`); `Agent(middleware=[Audit()])` records every
decision on `hivebus.audit` (`hivebus history`); `Agent(middleware=[Tracing()])` traces each
event, step and LLM call with OpenTelemetry, the trace carried in `ce_traceparent`.
"""

from hivebus.audit import Audit
from hivebus.contracts import Record
from hivebus.durable import (  # (also registers durable agents)
    Callee,
    CallTimedOut,
    DeterminismError,
    DurableContext,
    Gathered,
    StepFailed,
    WaitTimedOut,
)
from hivebus.errors import ConfigError, HivebusError
from hivebus.runtime import Agent, Context, Ordering, Publisher, Retry, Worker
from hivebus.tracing import Tracing

__all__ = [
    "Agent",
    "Audit",
    "CallTimedOut",
    "Callee",
    "ConfigError",
    "Context",
    "DeterminismError",
    "DurableContext",
    "Gathered",
    "HivebusError",
    "Ordering",
    "Publisher",
    "Record",
    "Retry",
    "StepFailed",
    "Tracing",
    "WaitTimedOut",
    "Worker",
]
