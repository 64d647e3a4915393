"""Durable runs: `Agent(durable=True)` journals each run's steps in Kafka and replays them.

Importing this package registers the expansion of durable agents with the runtime's worker
(`import hivebus` does it).
"""

from hivebus.durable.calls import Callee
from hivebus.durable.context import DurableContext
from hivebus.durable.control import cancel, resume, signal
from hivebus.durable.errors import (
    CallTimedOut,
    DeterminismError,
    JournalCodecError,
    StepFailed,
    WaitTimedOut,
)
from hivebus.durable.expand import expand
from hivebus.durable.gather import Gathered
from hivebus.durable.records import RunJournal, RunRequest
from hivebus.durable.topics import journal_topic, runs_topic
from hivebus.runtime import extensions

extensions.register(expand)

__all__ = [
    "CallTimedOut",
    "Callee",
    "DeterminismError",
    "DurableContext",
    "Gathered",
    "JournalCodecError",
    "RunJournal",
    "RunRequest",
    "StepFailed",
    "WaitTimedOut",
    "cancel",
    "journal_topic",
    "resume",
    "runs_topic",
    "signal",
]
