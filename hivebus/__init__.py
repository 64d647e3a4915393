"""hivebus: multi-agent AI systems on Apache Kafka.

The public API: declare an `Agent`, handle events with a `Context`, describe events as
`Record` contracts bound to Avro schemas, run agents in a `Worker`, publish from anywhere with
a `Publisher`; `Agent(durable=True)` journals each run's steps (`ctx.step`).
"""

from hivebus.contracts import Record
from hivebus.durable import DeterminismError, StepFailed  # (also registers durable agents)
from hivebus.errors import ConfigError, HivebusError
from hivebus.runtime import Agent, Context, Ordering, Publisher, Retry, Worker

__all__ = [
    "Agent",
    "ConfigError",
    "Context",
    "DeterminismError",
    "HivebusError",
    "Ordering",
    "Publisher",
    "Record",
    "Retry",
    "StepFailed",
    "Worker",
]
