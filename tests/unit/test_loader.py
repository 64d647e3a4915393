"""`hivebus run` specs: files with relative imports, `:agent` selection, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from hivebus import ConfigError
from hivebus.runtime.loader import load_agents

AGENTS = Path(__file__).parents[2] / "agents"


def test_a_file_is_loaded_with_its_relative_imports() -> None:
    [fraud] = load_agents(str(AGENTS / "fraud.py"))
    assert fraud.name == "fraud-detector"
    assert fraud.handled_types == ["hivebus.examples.payments.Transaction"]


def test_one_agent_is_picked_by_name() -> None:
    [compliance] = load_agents(f"{AGENTS / 'compliance.py'}:compliance")
    assert compliance.name == "compliance-officer"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("agents/nope.py", "does not exist"),
        (f"{AGENTS / 'compliance.py'}:missing", "no agent named 'missing'"),
        (f"{AGENTS / 'contracts.py'}", "defines no Agent"),
        ("no_such_module_here", "cannot import agent module"),
    ],
)
def test_bad_specs_say_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_agents(spec)
