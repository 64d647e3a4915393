"""`hivebus dev demo saga`, end to end: one order goes through, two fail and are compensated
exactly for the steps that had finished, in reverse order."""

from __future__ import annotations

from pathlib import Path

import pytest

from hivebus.dev import Endpoints, saga_demo

AGENTS = Path(__file__).parents[2] / "agents"


def test_failed_orders_are_compensated_in_reverse(
    stack: Endpoints, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HIVEBUS_STATE_DIR", str(tmp_path))
    outcomes = saga_demo.run(AGENTS, say=lambda line: None)
    assert outcomes[""].status == "completed" and outcomes[""].compensated == []
    declined = outcomes["payment"]
    assert (declined.status, declined.finished, declined.failed_step) == (
        "compensated", ["order"], "payment"
    )  # fmt: skip
    assert [c.split(":")[0] for c in declined.compensated] == ["order"]
    refused = outcomes["shipping"]
    assert refused.finished == ["order", "payment"] and refused.failed_step == "shipping"
    assert [c.split(":")[0] for c in refused.compensated] == ["payment", "order"]
    assert refused.plan["payment"] in ("refund", "store_credit")
