"""The decision about a record no handler saw: one that cannot be decoded.

The executor sends such a record to the dead-letter topic before any middleware runs, so the
audit hears of it from the outbox (`Outbox.dead_letter_listeners`) instead, and records it
as a decision like any other: outcome "dead-lettered", no attempt made, the reason and the
dead-letter topic in its error. Its type is the `ce_type` the record claims, if any.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from hivebus.audit import wire
from hivebus.audit.plain import causation_of
from hivebus.runtime.deadletter import Failure, dlq_topic

if TYPE_CHECKING:
    from hivebus.runtime.job import Job

UNDECODABLE = "undecodable"
UNKNOWN_TYPE = "(undecodable)"  # the type of a record that names none
MAX_ERROR = 2000  # characters of an error message kept, in every decision


def unhandled_decision(agent: str, version: str, job: Job, failure: Failure) -> bytes:
    """The Avro body of the decision about `job`'s record, dead-lettered for `failure`."""
    cause, correlation, run = job.raw_lineage()
    message = job.message
    claimed = next((value for name, value in job.headers or () if name == "ce_type"), None)
    type_name = claimed if isinstance(claimed, bytes) else UNKNOWN_TYPE.encode()
    error = (
        failure.error_type.encode(), failure.message[:MAX_ERROR].encode(),
        dlq_topic(agent).encode(),
    )  # fmt: skip
    who = wire.string(agent.encode()) + wire.string(version.encode())
    now = wire.long(time.time_ns() // 1_000_000)
    return wire.decision(
        f"{agent}/".encode() + cause, 0, who, correlation, run, now, 0.0,
        wire.string(b"dead-lettered"), 0, wire.string((message.topic() or "").encode()),
        message.partition() or 0, message.offset() or 0, cause, causation_of(job.headers),
        wire.string(type_name), None, [], error,
    )  # fmt: skip
