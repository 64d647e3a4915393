"""The seed demo prints each compliance decision with the model that wrote it, named once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from hivebus.dev.demo import decision_line
from hivebus.llm import LLM, OfflineProvider
from hivebus.llm.metering import Meter
from hivebus.runtime.loader import import_file

AGENTS = Path(__file__).parents[2] / "agents"


def _decision(rationale: str, model: str) -> Any:
    contracts = import_file((AGENTS / "contracts.py").resolve())
    return contracts.ComplianceDecision(
        tx_id="v1-0007", account="acct-003", decision="block", risk=0.97,
        rationale=rationale, model=model,
    )  # fmt: skip


async def test_an_offline_rationale_shows_the_model_once() -> None:
    llm = LLM(OfflineProvider(), model="gpt-4o-mini", meter=Meter(CollectorRegistry()))
    reply = await llm.complete("A card payment of 9,000.00 EUR was flagged. Write a rationale.")
    # As agents/compliance.py builds it: the offline text carries its own "[offline]" tag.
    line = decision_line(_decision(reply.text.strip(), reply.model))

    assert line.count("offline") == 1, line
    assert line.startswith("DECISION  v1-0007  block  [offline] ")
    assert "A card payment of 9,000.00 EUR" in line


def test_a_real_model_rationale_is_printed_whole_after_its_model() -> None:
    line = decision_line(_decision("Blocked: amount and country match known fraud.", "gpt-4o"))
    assert line == (
        "DECISION  v1-0007  block  [gpt-4o] Blocked: amount and country match known fraud."
    )
