"""`hivebus dev demo blackboard` and `hivebus dev demo readmodel`, end to end, each against
its reference agents in a separate worker process."""

from __future__ import annotations

from pathlib import Path

import pytest

from hivebus.dev import Endpoints, blackboard_demo, readmodel_demo

AGENTS = Path(__file__).parents[2] / "agents"


def test_each_incident_board_closes_with_a_root_cause(
    stack: Endpoints, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HIVEBUS_STATE_DIR", str(tmp_path))
    lines: list[str] = []
    causes = blackboard_demo.run(AGENTS, say=lines.append)
    assert len(causes) == 2
    for incident_id, cause in causes.items():
        assert cause.root_cause and cause.closed_by == "incidents-writer"
        kinds = [line.split()[3] for line in lines if line.strip().startswith(f"{incident_id} v")]
        assert kinds[0] == "alert" and kinds[-1] == "close"
        assert {"logs", "metrics", "hypothesis"} <= set(kinds)


def test_profiles_are_restored_on_a_new_replica_and_the_repeat_account_escalated(
    stack: Endpoints, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HIVEBUS_STATE_DIR", str(tmp_path))
    lines: list[str] = []
    profiles = readmodel_demo.run(AGENTS, say=lines.append)
    assert sorted(p["flags"] for p in profiles.values()) == [1, 2, 4]
    escalations = [line for line in lines if "escalated" in line]
    assert len(escalations) == 1 and "-ada-tx2" in escalations[0]
    assert any("(lag 0)" in line for line in lines)
