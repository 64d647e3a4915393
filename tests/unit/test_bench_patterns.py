"""The patterns bench (e): a runner's raw fan-out result -> its figures, and the table's ratios."""

from __future__ import annotations

from typing import Any

from bench.patterns import _figures
from bench.report import _patterns


def raw(latency_ms: list[float], burst_done: int, burst_seconds: float) -> dict[str, Any]:
    return {"latency_ms": latency_ms, "paced": len(latency_ms), "paced_done": len(latency_ms),
            "burst": 10, "burst_done": burst_done, "burst_seconds": burst_seconds,
            "burst_finished": burst_done == 10}  # fmt: skip


def test_figures_are_quantiles_of_the_paced_requests_and_the_burst_rate() -> None:
    figures = _figures(raw([float(ms) for ms in range(1, 101)], burst_done=10, burst_seconds=2.0))
    assert (figures["p50_ms"], figures["p99_ms"]) == (51.0, 100.0)
    assert figures["runs_per_s"] == 5.0 and figures["finished"]


def test_a_runner_that_failed_is_reported_with_its_error() -> None:
    assert _figures({"error": "install: no wheel"}) == {"error": "install: no wheel"}


def test_the_table_gives_ratios_to_hivebus_and_marks_a_capped_burst() -> None:
    workload = {
        "fanout": 3, "rate_per_s": 20, "seconds": 15, "burst": 10, "cap_s": 30,
        "systems": {"hivebus": _figures(raw([40.0] * 10, 10, 1.0)),
                    "calfkit": _figures(raw([400.0] * 10, 4, 2.0)),
                    "autogen": {"error": "boom"}},
        "market": {"bidders": 10, "auctions": 20, "awards": 20, "seconds": 2.0,
                   "auctions_per_s": 10.0, "p50_ms": 900.0, "p99_ms": 1900.0,
                   "closed_by": ["bids"], "bids_per_award": 10.0},
    }  # fmt: skip
    table = "\n".join(_patterns(workload))
    assert "| 400 | 400 | 10/10 | 2.0 (capped: 4 done) | 10.00x | 0.20x |" in table
    assert "| autogen | in-process" in table and "boom" in table
    assert "| 20 | 20 | 2.00 | 10.0 | 900 | 1,900 |" in table
