"""`hivebus dev demo gateway` (the last part of `make run`): a task submitted over HTTP,
followed on its event stream, approved by a signal, completed, with the dashboard's URL."""

from __future__ import annotations

from pathlib import Path

import pytest

from hivebus.dev import Endpoints, gateway_demo
from tests.integration.ports import free_ports

AGENTS = Path(__file__).resolve().parents[2] / "agents"


def test_the_gateway_demo_runs_a_task_to_its_end_over_http(
    stack: Endpoints, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    [port] = free_ports(1)
    monkeypatch.setenv(gateway_demo.PORT_ENV, str(port))
    monkeypatch.setenv("HIVEBUS_STATE_DIR", str(tmp_path))
    lines: list[str] = []
    final = gateway_demo.run(AGENTS, lines.append, serve=True, llm_latency_s=0.1)
    assert final["state"] == "completed"
    assert [step["name"] for step in final["steps"]][-2:] == ["hivebus:wait:approval", "publish"]
    assert final["result"]["leads"], final["result"]
    text = "\n".join(lines)
    assert "POST /v1/tasks -> 202" in text
    assert "waiting for signal 'approval'" in text
    assert text.index("waiting for signal") < text.index("completed  state completed")
    assert f"http://127.0.0.1:{port}/dashboard" in text
    assert "--serve holds only on a terminal" in text  # pytest's stdin is no terminal
