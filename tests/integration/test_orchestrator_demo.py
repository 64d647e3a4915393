"""`hivebus dev demo orchestrator`, end to end: the research orchestrator's tasks done by
three worker types (each its own group) and joined into one report."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from hivebus.dev import Endpoints, orchestrator_demo

AGENTS = Path(__file__).parents[2] / "agents"


def test_three_worker_types_do_the_tasks_and_the_orchestrator_joins_them(
    stack: Endpoints, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HIVEBUS_STATE_DIR", str(tmp_path))
    report, results = orchestrator_demo.run(AGENTS, say=lambda line: None)
    done = Counter((r.kind, r.worker) for r in results if r.ok)
    assert done == Counter({("search", "searcher"): 3, ("scrape", "scraper"): 5,
                            ("extract", "extractor"): 1})  # fmt: skip
    assert len(report.leads) == 5 and "tasks missing: none" in report.summary
    assert len({r.correlation_id for r in results}) == 1  # all of one request
