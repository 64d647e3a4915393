"""What a replay found: the report object, its printed summary and its JSON form."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from hivebus.replay.diff import CHANGED, KINDS, MISSING, NEW, Diff, Entry, InputRef
from hivebus.replay.ranges import Range
from hivebus.replay.times import show_time


@dataclass
class ReplayReport:
    replay_id: str
    agent: str  # the live agent whose outputs are the reference
    spec: str  # the new version, as given to --with
    version: str  # the new version's Agent(version=...)
    start_ms: int | None
    end_ms: int | None
    llm: str  # live or record
    ranges: list[Range]
    inputs: list[InputRef]
    diff: Diff
    shadow_topics: list[str]
    outside: int = 0  # records in the offset ranges timestamped outside the times
    repeats: int = 0  # historical outputs written twice for one input (redeliveries)
    unhandled_live: int = 0  # inputs of the range the live agent had not committed yet
    dropped: bool = False  # the shadow topics were deleted after the diff
    seconds: dict[str, float] = field(default_factory=dict)
    tools: str = "live"  # live or record: the steps run, or served from the audit

    def inputs_by(self, outcome: str) -> list[InputRef]:
        return [item for item in self.inputs if item.outcome == outcome]

    @property
    def topics(self) -> list[str]:
        return sorted({r.topic for r in self.ranges if r.size})

    def to_json(self) -> dict[str, Any]:
        counts = self.diff.counts
        return {
            "replay_id": self.replay_id,
            "agent": self.agent,
            "with": self.spec,
            "version": self.version,
            "from": show_time(self.start_ms) if self.start_ms is not None else None,
            "to": show_time(self.end_ms) if self.end_ms is not None else None,
            "llm": self.llm,
            "tools": self.tools,
            "source_topics": self.topics,
            "inputs": {
                "total": len(self.inputs),
                "handled": len(self.inputs_by("handled")),
                "skipped": len(self.inputs_by("skipped")),
                "dead_lettered": len(self.inputs_by("dead-lettered")),
                "cancelled": len(self.inputs_by("cancelled")),
                "suspended": len(self.inputs_by("suspended")),
                "parked": len(self.inputs_by("parked")),
                "outside_times": self.outside,
                "not_yet_handled_live": self.unhandled_live,
                "with_differences": len(self.diff.differing_inputs),
            },
            "outputs": counts,
            "historical_repeats": self.repeats,
            "shadow_topics": self.shadow_topics,
            "shadow_dropped": self.dropped,
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
            "entries": [_entry_json(e) for e in self.diff.entries],
        }

    def json_text(self) -> str:
        return json.dumps(self.to_json(), indent=2, default=str)


def _entry_json(entry: Entry) -> dict[str, Any]:
    return {
        "kind": entry.kind,
        "input": asdict(entry.input),
        "topic": entry.topic,
        "old": asdict(entry.old) if entry.old is not None else None,
        "new": asdict(entry.new) if entry.new is not None else None,
        "changes": [asdict(c) for c in entry.changes],
    }


def summary(report: ReplayReport, *, show: int = 20) -> str:
    """The printed summary: what was replayed, the counts, then up to `show` differences."""
    counts = report.diff.counts
    lines = [
        f"replay {report.replay_id}: {report.agent} as {report.spec} (version {report.version}), "
        f"LLM {report.llm}, tools {report.tools}",
        f"  range      {show_time(report.start_ms)} .. {show_time(report.end_ms)} on "
        f"{', '.join(report.topics) or 'no topic'}",
        f"  inputs     {len(report.inputs):,}: {len(report.inputs_by('handled')):,} handled, "
        f"{len(report.inputs_by('skipped')):,} skipped (no handler), "
        f"{len(report.inputs_by('dead-lettered')):,} dead-lettered",
        "  outputs    " + ", ".join(f"{counts[k]:,} {k}" for k in KINDS),
        f"  differ     {len(report.diff.differing_inputs):,} of {len(report.inputs):,} inputs",
    ]
    suspended = report.inputs_by("suspended")
    if suspended:
        lines.append(
            f"  note       {len(suspended):,} durable run(s) waited for a signal their live "
            "run never got, or a long sleep, and did not complete in the replay: what they "
            "publish later shows as missing"
        )
    parked = report.inputs_by("parked")
    if parked:
        lines.append(
            f"  note       {len(parked):,} durable run(s) parked: the handler asked for other "
            "steps on a retry than it had run (DeterminismError, in the log)"
        )
    if report.unhandled_live:
        lines.append(
            f"  note       {report.unhandled_live:,} input(s) of the range were not yet handled "
            f"by the live {report.agent} (its group had not committed them): their outputs "
            "show as new"
        )
    if report.repeats:
        lines.append(f"  note       {report.repeats:,} repeated live output(s) ignored")
    shadows = ", ".join(sorted(report.shadow_topics)) or "-"
    lines.append(f"  shadow     {shadows}{' (dropped)' if report.dropped else ''}")
    timings = " ".join(f"{k} {v:.1f}s" for k, v in report.seconds.items())
    lines.append(f"  took       {timings}")
    differing = [e for e in report.diff.entries if e.kind in (CHANGED, NEW, MISSING)]
    for entry in differing[:show]:
        lines.append(describe(entry))
    if len(differing) > show:
        lines.append(
            f"  ... {len(differing) - show:,} more (--show N to print more, --json FILE for all)"
        )
    return "\n".join(lines)


def describe(entry: Entry) -> str:
    """One difference on one line (changed: each field old -> new)."""
    item = entry.input
    head = f"  {entry.kind:<8} {item.where} key={item.key or '-'} -> {entry.topic}"
    if entry.kind == CHANGED:
        fields = "; ".join(f"{c.path}: {_short(c.old)} -> {_short(c.new)}" for c in entry.changes)
        return f"{head}: {fields}"
    output = entry.new if entry.kind == NEW else entry.old
    assert output is not None
    return f"{head}: {_short(output.value, 160)}"


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, default=str, separators=(",", ":"))
    return text if len(text) <= limit else text[: limit - 3] + "..."
