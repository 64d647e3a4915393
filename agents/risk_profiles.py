"""A read model of account risk, folded from flagged transactions, and an agent that
consults it before anyone asks it to.

- `account-risk.projector` folds each `FlaggedTransaction` (on `transactions.flagged`,
  keyed by account) into that account's profile: how many flags, the amount flagged, the
  highest risk, and the latest reasons. Each profile is written, versioned, to the
  compacted changelog `hivebus.view.account-risk`, in the same transaction as the event's
  offset.
- `repeat-watch` reads the profile of each flagged account from its own replica of the
  model, an embedded SQLite store restored from the changelog. From the third flag of an
  account on, it escalates each flag to `compliance.escalations`, with the profile in the
  rationale. The model is eventually consistent: the profile may not hold the flag being
  handled yet, and the handler counts it in. Were it behind by more, an escalation would
  come one flag later.

It runs beside the seed example: `hivebus run agents/fraud.py agents/compliance.py
agents/risk_profiles.py`.
"""

from __future__ import annotations

from typing import Any

from hivebus import Agent, Context
from hivebus.patterns import ReadModel

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
)


@watch.on("transactions.flagged", FlaggedTransaction, output="compliance.escalations")
async def escalate(flag: FlaggedTransaction, ctx: Context) -> ComplianceDecision | None:
    profile = await risk.get(flag.account)
    # The profile may not hold this flag yet (the projector runs beside us): count it.
    seen = (profile or {}).get("last_tx") == flag.tx_id
    flags = (profile or {}).get("flags", 0) + (0 if seen else 1)
    if flags < ESCALATE_AT:
        return None
    return ComplianceDecision(
        tx_id=flag.tx_id, account=flag.account, decision="escalate", risk=flag.risk,
        rationale=f"flag {flags} of account {flag.account}: "
        f"{(profile or {}).get('flagged_amount', 0.0) + (0 if seen else flag.amount):,.2f} "
        f"flagged so far; reasons {', '.join((profile or {}).get('reasons', flag.reasons))}",
        model="read-model",
    )  # fmt: skip
