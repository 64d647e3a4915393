"""`hivebus dev demo saga`: three orders, two of them failing, compensated in reverse.

The shop of `agents/shop_saga.py` (the saga's coordinator, a payments agent and a shipping
agent) runs in its own worker process. This process places three orders: one that goes
through, one whose payment is declined, one the carrier refuses. It prints each order's
`SagaOutcome`: the steps that finished, the failure, the compensation the LLM chose for the
payment, and the compensations in the order they ran.
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
from hivebus.patterns import SagaOutcome
from hivebus.runtime import Publisher
from hivebus.runtime.loader import import_file
from hivebus.testing.reader import read_events

Say = Callable[[str], None]
AGENTS = ("shop-saga", "shop-saga.runs", "shop-payments", "shop-shipping")
ORDERS = (("", "goes through"), ("payment", "payment declined"),
          ("shipping", "the carrier refuses it"))  # fmt: skip


def run(agents_dir: Path, say: Say = print) -> dict[str, SagaOutcome]:
    """Run the demo; returns the outcome of each order by its injected failure."""
    contracts = import_file((agents_dir / "shop_contracts.py").resolve())
    ensure_topics(admin_client(), [TopicSpec("shop.orders", 3), TopicSpec("shop.outcomes", 3)])
    serde = Serde(registry_client())
    log = worker_log("saga")
    worker = start_worker(agents_dir, "shop_saga.py", log, say)
    try:
        wait_for_agents(serde, worker, say, AGENTS)
        stamp = time.strftime("%H%M%S")
        orders = {fail: contracts.ShopOrder(
            id=f"order-{stamp}-{n}", customer="ada", item="heat pump", amount=4200.0,
            address="Hauptstr. 1, Berlin", loyal=n == 2, fail_at=fail,
        ) for n, (fail, _) in enumerate(ORDERS)}  # fmt: skip
        asyncio.run(_place(list(orders.values())))
        outcomes: dict[str, SagaOutcome] = {}
        for fail, what in ORDERS:
            order = orders[fail]
            outcome = _outcome(serde, order.id)
            outcomes[fail] = outcome
            say(f"\n== {order.id}: {what} -> {outcome.status} ==")
            say(f"   finished     {', '.join(outcome.finished) or '-'}")
            if outcome.failed_step:
                say(f"   failed       {outcome.failed_step}: {outcome.failure}")
            if outcome.plan:
                plan = ", ".join(f"{step}: {how}" for step, how in outcome.plan.items())
                say(f"   plan         {plan} (chosen by {outcome.chosen_by})")
            if outcome.compensated:
                say(f"   compensated  {' -> '.join(outcome.compensated)} (reverse order)")
        return outcomes
    finally:
        stop_worker(worker, log, say)


async def _place(orders: list[Any]) -> None:
    async with Publisher("demo") as publisher:
        for order in orders:
            await publisher.publish("shop.orders", order, key=order.id)


def _outcome(serde: Serde, order_id: str) -> SagaOutcome:
    found = asyncio.run(read_events(
        serde, "shop.outcomes", SagaOutcome, 1, timeout_s=90, committed_only=True,
        until=lambda got: any(r.event.saga_id == order_id for r in got),
    ))  # fmt: skip
    mine = [r.event for r in found if r.event.saga_id == order_id]
    if not mine:
        raise TimeoutError(f"no outcome for {order_id} within 90 s; see the worker's log")
    return mine[0]
