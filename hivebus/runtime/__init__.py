"""Runtime: Agent, Context, dispatcher, worker process, retries/DLQ, directory, metrics."""

from hivebus.runtime.agent import Agent
from hivebus.runtime.backoff import Retry
from hivebus.runtime.context import Context
from hivebus.runtime.publisher import Publisher
from hivebus.runtime.scheduler import Ordering
from hivebus.runtime.worker import Worker

__all__ = ["Agent", "Context", "Ordering", "Publisher", "Retry", "Worker"]
