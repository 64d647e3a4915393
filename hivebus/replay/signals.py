"""The signals a durable agent's live runs received, for its replay to deliver again.

Live, a signal (`hivebus runs signal`, `hivebus.durable.signal`) is a `RunRequest` of kind
`signal` on the agent's run inbox, `hivebus.runs.<agent>`, keyed by the run id. A replayed
run has the live run's id (the id of the event that started it), so the replay reads the
inbox, as it reads everything, without a group and writing nothing, and hands each run the
signals its live run was sent, in the order they were sent.
"""

from __future__ import annotations

import logging

from confluent_kafka.admin import AdminClient

from hivebus.contracts import Serde, UndecodableRecord
from hivebus.durable.records import SIGNAL, RunRequest
from hivebus.durable.topics import runs_topic
from hivebus.replay.outputs import CLOCK_SLACK_MS
from hivebus.replay.ranges import partitions_of, ranges_between
from hivebus.replay.reader import BoundedReader

log = logging.getLogger("hivebus.replay")
Signals = dict[str, dict[str, list[bytes]]]  # run id -> signal name -> payloads, oldest first


def live_signals(
    serde: Serde,
    admin: AdminClient,
    agent: str,
    start_ms: int,
    *,
    timeout_s: float = 30.0,
) -> Signals:
    """The signals sent to the runs of `agent` from `start_ms`, less the clock slack, to the
    current end of its run inbox (a signal comes after the event that started its run).
    Nothing when the agent has no inbox."""
    inbox = runs_topic(agent)
    partitions = partitions_of(admin, [inbox], timeout_s)
    if not partitions:
        return {}
    ranges = ranges_between(admin, partitions, start_ms - CLOCK_SLACK_MS, None, timeout_s)
    found: Signals = {}
    undecodable = 0
    reader = BoundedReader(ranges)
    try:
        while not reader.done:
            for message in reader.batch():
                try:
                    request = serde.decode(message.value() or b"", RunRequest)
                except (UndecodableRecord, ValueError):  # (the run agent dead-letters it)
                    undecodable += 1
                    continue
                if request.kind != SIGNAL or request.signal is None:
                    continue
                by_name = found.setdefault(request.run_id, {})
                by_name.setdefault(request.signal, []).append(request.payload or b"null")
    finally:
        reader.close()
    if undecodable:
        log.warning("%d record(s) of %s could not be read as run requests: skipped",
                    undecodable, inbox)  # fmt: skip
    return found
