"""The reference durable agent, end to end: `hivebus dev demo research` kills its worker at
step 11 of 14, and the run goes on from step 11 on a new worker."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hivebus.dev import Endpoints, research_demo

AGENTS = Path(__file__).parents[2] / "agents"


def test_the_research_run_resumes_at_step_11_and_repeats_no_finished_call(
    stack: Endpoints, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HIVEBUS_STATE_DIR", str(tmp_path))  # the workers' log
    lines: list[str] = []
    report = research_demo.run(AGENTS, say=lines.append, llm_latency_s=1.0)
    text = "\n".join(lines)
    assert "kill -9 the worker" in text
    # Each step printed once, in order, across the two workers.
    steps = [line.split()[1] for line in lines if line.lstrip().startswith("step ")]
    assert steps == [f"{n}/14" for n in range(1, 15)], steps
    assert report.approved_by == "ada" and len(report.leads) == 5
    # Tools ran once each; of the LLM calls only the one in flight at the kill (rank) twice.
    assert "web calls: 8 for 8 tool steps (each once: True)" in text
    calls = re.search(r"plan (\d+), extract (\d+), rank (\d+), summarize (\d+)", text)
    assert calls is not None, text
    plan, extract, rank, summarize = map(int, calls.groups())
    assert (plan, extract, summarize) == (1, 1, 1) and rank in (1, 2)
