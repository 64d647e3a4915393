"""A read model of account risk, folded from flagged transactions, and an agent that
consults it before anyone asks it to.

- `account-risk.projector` folds each `FlaggedTransaction` (on `transactions.flagged`,
  keyed by account) into that account's profile: how many flags, the amount flagged, the
  highest risk, and the latest reasons. Each profile is written, versioned, to the
  compacted changelog `hivebus.view.account-risk`, in the same transaction as the event's
  offset.
- `repeat-watch` follows the model's changelog: when an account's profile reaches its
  third flag, it escalates to `compliance.escalations`, once, with the profile in the
  rationale. It declares the model (`views=[risk]`) and asks it through its Context
  (`ctx.view("account-risk")`, its process's replica: an embedded SQLite store restored
  from the changelog, started with the agent) how many accounts are that far. Reacting to
  the changelog and not to the flags themselves keeps it exact: a flag handled before the
  projector had folded it cannot be miscounted.

It runs beside the seed example: `hivebus run agents/fraud.py agents/compliance.py
agents/risk_profiles.py`.
"""

from __future__ import annotations

import json
from typing import Any

from hivebus import Agent, Context
from hivebus.patterns import ReadModel, ViewEntry

from .contracts import ComplianceDecision, FlaggedTransaction

ESCALATE_AT = 3
risk = ReadModel("account-risk")
projector = risk.projector


@risk.on("transactions.flagged", FlaggedTransaction, key=lambda flag: flag.account)
def profile(state: dict[str, Any] | None, flag: FlaggedTransaction) -> dict[str, Any]:
    state = state or {"flags": 0, "flagged_amount": 0.0, "max_risk": 0.0, "reasons": []}
    reasons = list(dict.fromkeys([*flag.reasons, *state["reasons"]]))[:5]
    return {
        "flags": state["flags"] + 1,
        "flagged_amount": round(state["flagged_amount"] + flag.amount, 2),
        "max_risk": max(state["max_risk"], flag.risk),
        "reasons": reasons,
        "last_tx": flag.tx_id,
    }


watch = Agent(
    "repeat-watch",
    version="1.0",
    description="Escalates accounts flagged again and again, from their risk profile",
    views=[risk],
)


@watch.on(risk.topic, ViewEntry, output="compliance.escalations")
async def escalate(entry: ViewEntry, ctx: Context) -> ComplianceDecision | None:
    profile = json.loads(entry.value) if entry.value else None
    if profile is None or profile["flags"] != ESCALATE_AT:  # once, when it gets there
        return None
    repeat = await ctx.view("account-risk").query(
        "select count(*) from entries where json_extract(value, '$.flags') >= ?", ESCALATE_AT
    )
    return ComplianceDecision(
        tx_id=profile["last_tx"], account=entry.key, decision="escalate",
        risk=profile["max_risk"], model="read-model",
        rationale=f"flag {profile['flags']} of account {entry.key}: "
        f"{profile['flagged_amount']:,.2f} flagged so far, for {', '.join(profile['reasons'])}; "
        f"one of {repeat[0][0]} accounts with {ESCALATE_AT} flags or more",
    )  # fmt: skip
