"""`hivebus dev demo hierarchy`, end to end: a report written by a tree of child runs (three
section writers, three researchers each), all runs of one pooled agent."""

from __future__ import annotations

from pathlib import Path

import pytest

from hivebus.dev import Endpoints, hierarchy_demo

AGENTS = Path(__file__).parents[2] / "agents"


def test_the_report_is_written_by_a_tree_of_child_runs(
    stack: Endpoints, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HIVEBUS_STATE_DIR", str(tmp_path))
    lines: list[str] = []
    report = hierarchy_demo.run(AGENTS, say=lines.append)
    assert report.children == 12 and report.missing == []
    assert [s.split("\n")[0] for s in report.body.split("## ")[1:]] == [
        "Market",
        "Players",
        "Risks",
    ]
    tree = [line.split()[:3] for line in lines if line.lstrip().startswith("depth ")]
    assert tree == [["depth", "1", "section"], *[["depth", "2", "researcher"]] * 3] * 3
