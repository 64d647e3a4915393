"""The market reference, end to end: `hivebus dev demo market` kills the worker running the
coordinator and the bidders mid-auction, and every task still gets exactly one award."""

from __future__ import annotations

from pathlib import Path

import pytest

from hivebus.dev import Endpoints, market_demo

AGENTS = Path(__file__).parents[2] / "agents"


def test_every_task_gets_exactly_one_award_across_a_kill_of_the_worker(
    stack: Endpoints, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HIVEBUS_STATE_DIR", str(tmp_path))  # the workers' log
    lines: list[str] = []
    awards = market_demo.run(AGENTS, count=12, say=lines.append)
    text = "\n".join(lines)
    killed = next(n for n, line in enumerate(lines) if "kill -9 the worker" in line)
    before = [line for line in lines[:killed] if line.lstrip().startswith("task-")]
    after = [line for line in lines[killed:] if line.lstrip().startswith("task-")]
    assert 4 <= len(before) < 12 and len(before) + len(after) == 12
    assert len(awards) == 12 and "12 of 12 opportunities have an award; 0 came twice" in text
    bidders = {"translator-bot", "analyst-bot", "generalist-bot"}
    for award in awards.values():
        assert award.outcome == "awarded" and award.winner in bidders, award
        assert award.cost is not None and award.cost >= 0
    # The translator declines offers under 40: whenever it was offered one, it was passed over.
    small = [a for a in awards.values() if any("translator-bot: declined" in p
                                               for p in a.passed_over)]  # fmt: skip
    assert all(a.winner != "translator-bot" for a in small)
