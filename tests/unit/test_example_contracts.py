"""The seed example's models match their .avsc files; v2 evolves v1 compatibly."""

from __future__ import annotations

import inspect
from pathlib import Path

from hivebus.contracts import Record, check_drift
from hivebus.runtime.directory import AgentAnnouncement
from hivebus.runtime.loader import import_file

AGENTS = Path(__file__).parents[2] / "agents"


def _models() -> list[type[Record]]:
    module = import_file((AGENTS / "contracts.py").resolve())
    found = [
        value
        for value in vars(module).values()
        if inspect.isclass(value)
        and issubclass(value, Record)
        and value is not Record
        and value.__name__ != "Lead"  # nested in LeadReport, checked through it
    ]
    return [*found, AgentAnnouncement]


def test_every_model_matches_its_contract() -> None:
    models = _models()
    assert len(models) == 7
    for model in models:
        assert check_drift(model) == [], model.__name__


def test_transaction_v2_only_adds_a_field_with_a_default() -> None:
    module = import_file((AGENTS / "contracts.py").resolve())
    v1, v2 = module.TransactionV1.contract(), module.Transaction.contract()
    assert v1.fullname == v2.fullname
    names_v1 = [f["name"] for f in v1.schema["fields"]]
    added = [f for f in v2.schema["fields"] if f["name"] not in names_v1]
    assert [f["name"] for f in added] == ["device_id"]
    assert "default" in added[0]
