"""The read-model reference with the seed example: flagged transactions folded into
account risk profiles, and a handler escalating repeat accounts from them."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from confluent_kafka.schema_registry import SchemaRegistryClient

from hivebus import Publisher
from hivebus.contracts import Serde
from hivebus.dev import Endpoints
from hivebus.kafka.admin import TopicSpec, admin_client, ensure_topics
from hivebus.runtime.loader import import_file, load_agents
from hivebus.testing.reader import read_events
from hivebus.testing.worker import running

AGENTS = Path(__file__).parents[2] / "agents"


async def test_profiles_fold_the_flags_and_repeat_accounts_are_escalated(
    stack: Endpoints, registry: SchemaRegistryClient
) -> None:
    ensure_topics(admin_client(), [TopicSpec("transactions.flagged", 3),
                                   TopicSpec("compliance.escalations", 3)])  # fmt: skip
    module = import_file(AGENTS / "risk_profiles.py")
    contracts = import_file(AGENTS / "contracts.py")
    agents = load_agents(str(AGENTS / "risk_profiles.py"))
    account, other = f"acct-{uuid.uuid4().hex[:8]}", f"acct-{uuid.uuid4().hex[:8]}"
    flags = [(account, 100.0 * (n + 1), 0.7 + n / 10) for n in range(4)] + [(other, 50.0, 0.6)]
    serde = Serde(registry)
    async with running(agents):
        async with Publisher("tests") as publisher:
            for n, (who, amount, risk) in enumerate(flags):
                flag = contracts.FlaggedTransaction(
                    tx_id=f"{who}-tx{n}", account=who, amount=amount, currency="EUR",
                    channel="card", risk=risk, reasons=[f"reason {n}"],
                )  # fmt: skip
                await publisher.publish("transactions.flagged", flag, key=who)
        escalated = await read_events(
            serde, "compliance.escalations", contracts.ComplianceDecision, 1, timeout_s=120,
            until=lambda got: any(r.event.tx_id == f"{account}-tx2" for r in got),
        )  # fmt: skip
        await asyncio.sleep(2)  # a fourth flag must not escalate again
        decision = contracts.ComplianceDecision
        escalated = await read_events(
            serde, "compliance.escalations", decision, len(escalated) + 1, timeout_s=3
        )
        profile = await module.risk.get(account)
        lonely = await module.risk.get(other)
    module.risk.close()  # its replica's thread: not needed by later tests
    mine = [r.event for r in escalated if r.event.account in (account, other)]
    # Once, at the account's third flag; never for the other account's single flag.
    assert [e.tx_id for e in mine] == [f"{account}-tx2"]
    assert "flag 3 of account" in mine[0].rationale and "600.00 flagged" in mine[0].rationale
    assert profile["flags"] == 4 and profile["flagged_amount"] == 1000.0
    assert profile["max_risk"] == 1.0 and profile["last_tx"] == f"{account}-tx3"
    assert profile["reasons"][:2] == ["reason 3", "reason 2"]
    assert lonely["flags"] == 1
