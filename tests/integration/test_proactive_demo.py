"""`hivebus dev demo proactive`, end to end: a spike in a metrics stream becomes a root-cause
report with every tool's evidence, in a separate worker process."""

from __future__ import annotations

from pathlib import Path

import pytest

from hivebus.dev import Endpoints, proactive_demo

AGENTS = Path(__file__).parents[2] / "agents"


def test_the_demo_reports_the_root_cause_of_its_spike(
    stack: Endpoints, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HIVEBUS_STATE_DIR", str(tmp_path))
    lines: list[str] = []
    report = proactive_demo.run(AGENTS, say=lines.append)
    assert report.series == "checkout/latency_ms" and report.missing == []
    assert [line.split(":")[0] for line in report.evidence] == [
        "recent_deploys", "error_logs", "dependencies"
    ]  # fmt: skip
    text = "\n".join(lines)
    assert "== anomaly: checkout/latency_ms = 950" in text and "unasked" in text
