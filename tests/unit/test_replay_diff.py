"""The replay's diff: outputs paired per input and topic, then same, changed (with the fields
that differ), new or missing; and the pieces around it (times, shadow names, the summary,
the progress line, catch-up's start)."""

from __future__ import annotations

import io
import json

import pytest

from hivebus import Agent
from hivebus.errors import ConfigError
from hivebus.replay import InputRef, Output, ReplayReport, ShadowNames, compare, summary
from hivebus.replay.catchup import check_from_earliest
from hivebus.replay.diff import FieldChange, field_changes
from hivebus.replay.names import is_shadow
from hivebus.replay.progress import Progress
from hivebus.replay.ranges import Range
from hivebus.replay.times import parse_time

FLAGGED = "transactions.flagged"
TYPE = "payments.FlaggedTransaction"


def item(n: int, outcome: str = "handled") -> InputRef:
    return InputRef(f"e{n}", "transactions.card", 0, n, f"acct-{n}", outcome)


def flagged(tx: str, risk: float, reasons: list[str], key: str | None = None) -> Output:
    return Output(FLAGGED, key or f"acct-{tx[1:]}", TYPE, {"tx_id": tx, "risk": risk,
                  "reasons": reasons})  # fmt: skip


def test_each_input_s_outputs_are_same_changed_new_or_missing() -> None:
    inputs = [item(1), item(2), item(3), item(4), item(5)]
    old = {
        "e1": [flagged("t1", 0.8, ["a"])],
        "e2": [flagged("t2", 0.8, ["a", "b"])],
        "e4": [flagged("t4", 0.9, ["c"])],
    }
    new = {
        "e1": [flagged("t1", 0.8, ["a"])],
        "e2": [flagged("t2", 0.75, ["a"])],
        "e3": [flagged("t3", 0.7, ["d"])],
    }
    diff = compare(inputs, old, new)
    assert diff.counts == {"same": 1, "changed": 1, "new": 1, "missing": 1}
    kinds = {entry.input.id: entry.kind for entry in diff.entries}
    assert kinds == {"e1": "same", "e2": "changed", "e3": "new", "e4": "missing"}
    [changed] = diff.of("changed")
    assert changed.changes == (
        FieldChange("risk", 0.8, 0.75),
        FieldChange("reasons[1]", "b", "<absent>"),
    )
    assert [i.id for i in diff.differing_inputs] == ["e2", "e3", "e4"]  # e5: nothing, twice


def test_equal_outputs_pair_first_whatever_their_order() -> None:
    a, b, c = flagged("t1", 0.7, ["a"]), flagged("t1", 0.8, ["b"]), flagged("t1", 0.9, ["c"])
    diff = compare([item(1)], {"e1": [a, b]}, {"e1": [b, c]})
    assert [(e.kind, e.old, e.new) for e in diff.entries] == [
        ("same", b, b),
        ("changed", a, c),
    ]


def test_outputs_are_paired_per_topic_and_leftovers_are_new_or_missing() -> None:
    audit = Output("risk.alerts", "acct-1", "payments.Alert", {"level": 2})
    diff = compare(
        [item(1)],
        {"e1": [flagged("t1", 0.8, ["a"]), flagged("t1", 0.9, ["x"])]},
        {"e1": [audit, flagged("t1", 0.8, ["a"])]},
    )
    assert sorted((e.kind, e.topic) for e in diff.entries) == [
        ("missing", FLAGGED),
        ("new", "risk.alerts"),
        ("same", FLAGGED),
    ]


def test_a_changed_key_or_type_is_a_change_of_its_own() -> None:
    before = flagged("t1", 0.8, ["a"], key="acct-1")
    after = Output(FLAGGED, "acct-2", "payments.FlaggedV2", before.value)
    [entry] = compare([item(1)], {"e1": [before]}, {"e1": [after]}).entries
    assert entry.kind == "changed"
    assert [c.path for c in entry.changes] == ["<key>", "<type>"]


def test_field_changes_walk_nested_records_and_lists() -> None:
    old = {"a": {"b": [1, 2, {"c": "x"}]}, "gone": 1, "same": [1]}
    new = {"a": {"b": [1, 3, {"c": "y"}, 4]}, "same": [1], "added": None}
    assert field_changes(old, new) == [
        FieldChange("a.b[1]", 2, 3),
        FieldChange("a.b[2].c", "x", "y"),
        FieldChange("a.b[3]", "<absent>", 4),
        FieldChange("gone", 1, "<absent>"),
        FieldChange("added", "<absent>", None),
    ]
    assert field_changes(1, 2) == [FieldChange("<value>", 1, 2)]


def test_the_summary_names_each_difference_and_the_json_has_them_all() -> None:
    inputs = [item(1), item(2), item(3, "skipped")]
    diff = compare(
        inputs,
        {"e1": [flagged("t1", 0.8, ["a"])]},
        {"e1": [flagged("t1", 0.9, ["a"])], "e2": [flagged("t2", 0.7, ["b"])]},
    )
    report = ReplayReport(
        "r1", "fraud-detector", "v2.py", "2.0", 0, 1000, "live",
        [Range("transactions.card", 0, 0, 3)], inputs, diff, ["hivebus.shadow.r1.x"],
        seconds={"replay": 1.25},
    )  # fmt: skip
    text = summary(report, show=1)
    assert "inputs     3: 2 handled, 1 skipped" in text
    assert "differ     2 of 3 inputs" in text
    assert "0 same, 1 changed, 1 new, 0 missing" in text
    assert (
        "changed  transactions.card[0]@1 key=acct-1 -> transactions.flagged: risk: 0.8 -> 0.9"
        in text
    )
    assert "1 more" in text  # the new one, beyond --show 1
    data = json.loads(report.json_text())
    assert data["outputs"] == {"same": 0, "changed": 1, "new": 1, "missing": 0}
    assert data["inputs"]["skipped"] == 1 and data["inputs"]["with_differences"] == 2
    assert [e["kind"] for e in data["entries"]] == ["changed", "new"]
    assert data["entries"][0]["changes"] == [{"path": "risk", "old": 0.8, "new": 0.9}]


def test_shadow_topics_are_prefixed_so_live_patterns_never_match_them() -> None:
    names = ShadowNames("r1")
    shadow = names.shadow("transactions.flagged")
    assert shadow == "hivebus.shadow.r1.transactions.flagged"
    assert names.shadow(shadow) == shadow and names.live(shadow) == "transactions.flagged"
    assert is_shadow(shadow) and names.owns(shadow) and not ShadowNames("r2").owns(shadow)
    with pytest.raises(ConfigError):
        ShadowNames("no spaces")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-05-01T12:00:00Z", 1746100800000),
        ("2025-05-01T12:00:00", 1746100800000),  # no offset: UTC
        ("2025-05-01T14:00:00+02:00", 1746100800000),
        ("1746100800000", 1746100800000),
        ("now", 10_000_000),
        ("90m", 10_000_000 - 90 * 60_000),
        ("2h ago", 10_000_000 - 2 * 3_600_000),
        ("-1d", 10_000_000 - 86_400_000),
    ],
)
def test_times_are_iso_epoch_milliseconds_or_a_duration_ago(text: str, expected: int) -> None:
    assert parse_time(text, now_ms=10_000_000) == expected


def test_a_bad_time_says_what_it_accepts() -> None:
    with pytest.raises(ConfigError, match="--from 'yesterday' is not a time: give ISO 8601"):
        parse_time("yesterday", option="--from")


def test_the_progress_line_shows_done_total_rate_and_eta() -> None:
    out = io.StringIO()
    bar = Progress("  replaying", 1000, out=out)
    bar.update(250)
    line = out.getvalue().rstrip("\n")
    assert line.startswith("  replaying [######..................] 250/1,000 (25%) ")
    assert "/s" in line and "ETA" in line
    bar.update(1000)
    bar.finish()
    assert (
        out.getvalue()
        .strip()
        .splitlines()[-1]
        .startswith("  replaying [########################] 1,000/1,000 (100%)")
    )


def test_catch_up_refuses_a_group_that_would_start_at_the_end() -> None:
    agent = Agent("late", consumer_config={"auto.offset.reset": "latest"})
    with pytest.raises(ConfigError, match=r"late sets auto\.offset\.reset=latest"):
        check_from_earliest([agent], {})
    check_from_earliest([Agent("early")], {})
    with pytest.raises(ConfigError):
        check_from_earliest([Agent("early")], {"auto.offset.reset": "latest"})
