"""Replay: historical inputs through a new version of an agent, into shadow topics, then a
diff against what the live agent wrote; and catch-up, a new agent bootstrapping from history.

`hivebus replay --agent NAME --from TIME --with new_agent.py` (docs/replay.md). Nothing a
replay does reaches a live topic or a live group: inputs are read with assign() and never
committed, and every record produced goes to `hivebus.shadow.<replay id>.<topic>`.
"""

from hivebus.replay.diff import Diff, Entry, FieldChange, InputRef, Output, compare
from hivebus.replay.names import ShadowNames
from hivebus.replay.recorded import RecordedCalls, RecordedReply
from hivebus.replay.recorded_steps import RecordedStep, RecordedStepFailed, RecordedSteps
from hivebus.replay.report import ReplayReport, summary
from hivebus.replay.session import ReplayOptions, replay
from hivebus.replay.times import parse_time

__all__ = [
    "Diff",
    "Entry",
    "FieldChange",
    "InputRef",
    "Output",
    "RecordedCalls",
    "RecordedReply",
    "RecordedStep",
    "RecordedStepFailed",
    "RecordedSteps",
    "ReplayOptions",
    "ReplayReport",
    "ShadowNames",
    "compare",
    "parse_time",
    "replay",
    "summary",
]
