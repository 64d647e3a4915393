"""The standard middlewares, one idea each: dead-lettering, retry, metrics, the time limit."""

from hivebus.runtime.middlewares.dead_letters import DeadLettering, NonRetryableError
from hivebus.runtime.middlewares.measure import Measuring
from hivebus.runtime.middlewares.retry import Retrying
from hivebus.runtime.middlewares.time_limit import TimeLimit

__all__ = ["DeadLettering", "Measuring", "NonRetryableError", "Retrying", "TimeLimit"]
