"""`hivebus dev demo readmodel`: account risk profiles folded from flagged transactions,
queried by an agent, and restored on a fresh replica from the changelog alone.

The agents of `agents/risk_profiles.py` (the projector and `repeat-watch`) run in their own
worker process. This process publishes flagged transactions for three accounts, prints each
escalation `repeat-watch` makes from the profiles, then builds a new replica of the model in
this process (an empty SQLite store) and prints what it restored from Kafka.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hivebus.contracts import Serde, registry_client
from hivebus.dev.demo import wait_for_agents
from hivebus.dev.demo_worker import start_worker, stop_worker, worker_log
from hivebus.kafka.admin import TopicSpec, admin_client, ensure_topics
from hivebus.patterns import ReadModel
from hivebus.runtime import Publisher
from hivebus.runtime.loader import import_file
from hivebus.testing.reader import read_events

Say = Callable[[str], None]
AGENTS = ("account-risk.projector", "repeat-watch")


def run(agents_dir: Path, say: Say = print) -> dict[str, Any]:
    """Run the demo; returns the restored profile of each account."""
    contracts = import_file((agents_dir / "contracts.py").resolve())
    module = import_file((agents_dir / "risk_profiles.py").resolve())
    ensure_topics(admin_client(), [TopicSpec("transactions.flagged", 3),
                                   TopicSpec("compliance.escalations", 3)])  # fmt: skip
    serde = Serde(registry_client())
    log = worker_log("readmodel")
    worker = start_worker(agents_dir, "risk_profiles.py", log, say)
    try:
        wait_for_agents(serde, worker, say, AGENTS)
        stamp = time.strftime("%H%M%S")
        flags = {f"acct-{stamp}-{name}": n for name, n in (("ada", 4), ("bob", 2), ("cyd", 1))}
        asyncio.run(_flag(contracts, flags))
        say(f"\n== {sum(flags.values())} flagged transactions for {len(flags)} accounts ==")
        last = f"{next(iter(flags))}-tx2"  # ada's third flag: the escalation
        escalated = asyncio.run(read_events(
            serde, "compliance.escalations", contracts.ComplianceDecision, 1, timeout_s=60,
            until=lambda got: any(r.event.tx_id == last for r in got),
        ))  # fmt: skip
        for received in escalated:
            if received.event.account in flags:
                say(f"   escalated {received.event.tx_id}: {received.event.rationale}")
        fresh = ReadModel(module.risk.name)  # a new replica: an empty store
        began = time.monotonic()
        profiles = {account: asyncio.run(fresh.get(account)) for account in flags}
        say(f"\n== a new replica restored from {fresh.topic} in "
            f"{time.monotonic() - began:.2f} s (lag {fresh.lag()}) ==")  # fmt: skip
        for account, profile in profiles.items():
            say(f"   {account}: {profile['flags']} flags, {profile['flagged_amount']:,.2f} "
                f"flagged, max risk {profile['max_risk']:.2f}")  # fmt: skip
        fresh.close()
        return profiles
    finally:
        stop_worker(worker, log, say)


async def _flag(contracts: Any, flags: dict[str, int]) -> None:
    async with Publisher("demo") as publisher:
        for account, count in flags.items():
            for n in range(count):
                flag = contracts.FlaggedTransaction(
                    tx_id=f"{account}-tx{n}", account=account, amount=250.0 * (n + 1),
                    currency="EUR", channel="card", risk=0.7 + n / 20, reasons=[f"rule {n}"],
                )  # fmt: skip
                await publisher.publish("transactions.flagged", flag, key=account)
