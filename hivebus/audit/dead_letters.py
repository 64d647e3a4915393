"""Decisions about dead letters the handling's own audit did not see.

A handler's failure is in the handling's audit (the trail hears of its dead letter). Three
are not: a record that cannot be decoded (the executor dead-letters it before any middleware
runs), an output the broker refused after the handling ended (the record is dead-lettered
when its acknowledgements settle, after its decision said "ok"), and a runtime fault outside
the handler. The audit hears of them from the outbox (`Outbox.dead_letter_listeners`) and
records each as a decision: outcome "dead-lettered", the reason and the dead-letter topic in
its error, the attempt the failure names (0: no attempt made). Its type is the `ce_type` the
record claims, if any. A late one has `seq` `LATE` (after anything its handling wrote), and
a reader keeps one decision per record: the store merges it with the handling's own (the
fate from this one, the rest from that one).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from hivebus.audit import wire
from hivebus.audit.plain import causation_of
from hivebus.audit.records import LATE
from hivebus.runtime.deadletter import Failure, dlq_topic

if TYPE_CHECKING:
    from hivebus.runtime.job import Job

UNDECODABLE = "undecodable"
UNSEEN = (UNDECODABLE, "delivery", "runtime")  # the failures no handling's audit saw
UNKNOWN_TYPE = "(undecodable)"  # the type of an undecodable record that names none
UNNAMED_TYPE = "(unknown)"  # of another that names none
MAX_ERROR = 2000  # characters of an error message kept, in every decision


def dead_letter_decision(agent: str, version: str, job: Job, failure: Failure) -> bytes:
    """The Avro body of the decision about `job`'s record, dead-lettered for `failure`."""
    cause, correlation, run = job.raw_lineage()
    message = job.message
    claimed = next((value for name, value in job.headers or () if name == "ce_type"), None)
    unnamed = UNKNOWN_TYPE if failure.kind == UNDECODABLE else UNNAMED_TYPE
    type_name = claimed if isinstance(claimed, bytes) else unnamed.encode()
    error = (
        failure.error_type.encode(), failure.message[:MAX_ERROR].encode(),
        dlq_topic(agent).encode(),
    )  # fmt: skip
    who = wire.string(agent.encode()) + wire.string(version.encode())
    now = wire.long(time.time_ns() // 1_000_000)
    seq = 0 if failure.kind == UNDECODABLE else LATE  # (then the handling's may exist too)
    return wire.decision(
        f"{agent}/".encode() + cause, seq, who, correlation, run, now, 0.0,
        wire.string(b"dead-lettered"), failure.attempts,
        wire.string((message.topic() or "").encode()),
        message.partition() or 0, message.offset() or 0, cause, causation_of(job.headers),
        wire.string(type_name), None, [], error,
    )  # fmt: skip
