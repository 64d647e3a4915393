"""The saga pattern on the real broker and registry: a failure injected at each step
position compensates exactly the finished steps, in reverse order, each once; the chooser's
plan is followed (and an option no step allows falls back); a compensation that fails for
good is reported; and a coordinator killed -9 mid-compensation resumes it, running no
compensation twice; and the shop reference (agents/shop_saga.py) end to end."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient

from hivebus import Agent, Callee, Context, Publisher
from hivebus.contracts import Serde
from hivebus.dev import Endpoints
from hivebus.durable.reader import read_journals
from hivebus.patterns.saga import SagaOutcome
from hivebus.runtime.loader import import_file
from hivebus.testing.reader import read_events
from hivebus.testing.stack import unique_name
from hivebus.testing.worker import running
from tests.integration.agents.saga_coordinator import FAILED, build
from tests.integration.conftest import create_topic
from tests.integration.runtime_contracts import Ping, Pong
from tests.integration.runtime_support import publish, until

COORDINATOR = Path(__file__).parent / "agents" / "saga_coordinator.py"
SESSION = ["--consumer-config", "session.timeout.ms=6000", "--consumer-config",
           "heartbeat.interval.ms=1000"]  # fmt: skip
ACTIONS = ["reserve", "charge", "audit", "pack", "ship"]


def _topics(admin: AdminClient, partitions: int = 3) -> dict[str, str]:
    base = unique_name("saga")
    parts = ("in", "outcomes", "charge", "charged", "refund", "refunded")
    return {part: create_topic(admin, f"{base}.{part}", partitions) for part in parts}


def _bank(name: str, requests: str, replies: str, seen: Counter[str], refuse: str) -> Agent:
    """A plain agent answering each request (counted by its idempotency key): failed when
    the saga's payload contains `refuse`, done otherwise."""
    bank = Agent(name)

    @bank.on(requests, Ping, output=replies)
    async def answer(request: Ping, ctx: Context) -> Pong:
        seen[request.id] += 1
        refused = refuse in request.payload.split("+")
        verdict = f"{FAILED}{name} refused" if refused else f"done by {name}"
        return Pong(id=request.id, key=request.key, seq=0, handled_by=verdict)

    return bank


def _banks(t: dict[str, str], charged: Counter[str], refunded: Counter[str]) -> list[Agent]:
    charger = _bank(unique_name("charger"), t["charge"], t["charged"], charged, "charge")
    refunder = _bank(unique_name("refunder"), t["refund"], t["refunded"], refunded, "norefund")
    return [charger, refunder]


def _runs(log: Path) -> Counter[str]:
    """How often each (saga, action) really ran, the idempotency key left out."""
    lines = log.read_text().splitlines() if log.exists() else []
    return Counter(" ".join(line.split()[:3]) if "undo" not in line else
                   " ".join(line.split()[:-1]) for line in lines)  # fmt: skip


async def test_a_failure_at_each_step_compensates_exactly_the_finished_steps_in_reverse(
    stack: Endpoints, admin: AdminClient, registry: SchemaRegistryClient, tmp_path: Path
) -> None:
    t, log = _topics(admin), tmp_path / "saga.log"
    charges = Callee(t["charge"], reply_topic=t["charged"], returns=Pong)
    refunds = Callee(t["refund"], reply_topic=t["refunded"], returns=Pong)
    saga = build(unique_name("shop"), charges, refunds, log)
    coordinator = saga.coordinator(t["in"], Ping, outcomes=t["outcomes"])
    charged: Counter[str] = Counter()
    refunded: Counter[str] = Counter()
    # One saga failing at each position, one that completes, one whose chooser picks store
    # credit, one whose chooser picks an option no step has, one whose refund is refused.
    payloads = [*ACTIONS, "", "ship+credit", "ship+greedy", "ship+norefund"]
    sagas = {f"s{i}": payload for i, payload in enumerate(payloads)}
    serde = Serde(registry)
    async with running([coordinator, *_banks(t, charged, refunded)]):
        await publish(t["in"], [Ping(id=s, key=s, seq=0, payload=p) for s, p in sagas.items()])
        got = await read_events(serde, t["outcomes"], SagaOutcome, len(sagas), timeout_s=90,
                                committed_only=True)  # fmt: skip
    outcomes = {r.event.saga_id: r.event for r in got}
    assert len(got) == len(sagas) and set(outcomes) == set(sagas)
    assert all(r.key == r.event.saga_id for r in got)
    runs = _runs(log)
    for sid, payload in sagas.items():
        outcome, fails_at = outcomes[sid], payload.split("+")[0]
        position = ACTIONS.index(fails_at) if fails_at else len(ACTIONS)
        finished = ACTIONS[:position]
        assert outcome.finished == finished, sid
        undone = [step for step in reversed(finished) if step != "audit"]
        if not fails_at:
            assert (outcome.status, outcome.compensated, outcome.failed_step) == (
                "completed", [], None)  # fmt: skip
            continue
        assert outcome.failed_step == fails_at and outcome.failure, sid
        refused = "norefund" in payload
        assert outcome.status == ("compensation_failed" if refused else "compensated"), sid
        assert outcome.compensated == [s for s in undone if not (refused and s == "charge")]
        # Exactly the finished steps were undone, each once; no unfinished one was.
        for step in ("reserve", "pack", "ship"):
            assert runs[f"{sid} undo {step}"] == (step in undone), (sid, step)
        for step in ("reserve", "audit", "pack", "ship"):
            assert runs[f"{sid} do {step}"] == (step in finished or step == fails_at), (sid, step)
        assert charged[f"{sid}/charge/do"] == (position >= 1)
        if "charge" in undone:
            option = "credit" if "credit" in payload else "refund"
            assert outcome.plan == {s: ("undo" if s != "charge" else option) for s in undone}
            assert runs[f"{sid} undo charge credit"] == (option == "credit")
            assert refunded[f"{sid}/charge/undo"] == (2 if refused else option == "refund")
            assert runs[f"{sid} choose"] == 1
        else:
            assert runs[f"{sid} choose"] == 0 and outcome.chosen_by == "declared"
    assert outcomes["s1"].failure.endswith("refused")  # the charger's reply said why
    assert (outcomes["s6"].chosen_by, outcomes["s1"].chosen_by) == ("chooser", "declared")
    assert outcomes["s6"].choice_note == "the input asks for credit"
    greedy = outcomes["s7"]
    assert greedy.chosen_by == "fallback"
    assert "'cash' is not one of refund/credit" in greedy.choice_note
    failures = outcomes["s8"].compensation_failures  # visible: named, with the reply's reason
    assert len(failures) == 1 and failures[0].startswith("charge: ")
    assert failures[0].endswith("refused")
    # The steps' order in time: each saga's compensations ran last step first.
    order = [line.split()[2] for line in log.read_text().splitlines()
             if line.startswith("s6 undo")]  # fmt: skip
    assert order == ["pack", "charge", "reserve"]  # s6 undoes its charge locally (credit)


async def test_a_call_with_no_reply_in_time_is_in_doubt_and_compensated_too(
    stack: Endpoints, admin: AdminClient, registry: SchemaRegistryClient, tmp_path: Path
) -> None:
    t, log = _topics(admin), tmp_path / "saga.log"
    charges = Callee(t["charge"], reply_topic=t["charged"], returns=Pong)
    refunds = Callee(t["refund"], reply_topic=t["refunded"], returns=Pong)
    saga = build(unique_name("shop"), charges, refunds, log, charge_timeout_s=3)
    charged: Counter[str] = Counter()
    refunded: Counter[str] = Counter()
    _, refunder = _banks(t, charged, refunded)  # no charger: the charge is never answered
    serde = Serde(registry)
    async with running([saga.coordinator(t["in"], Ping, outcomes=t["outcomes"]), refunder]):
        await publish(t["in"], [Ping(id="d1", key="d1", seq=0)])
        got = await read_events(serde, t["outcomes"], SagaOutcome, 1, timeout_s=60,
                                committed_only=True)  # fmt: skip
    outcome = got[0].event
    assert (outcome.status, outcome.failed_step, outcome.in_doubt) == (
        "compensated",
        "charge",
        True,
    )
    assert outcome.finished == ["reserve"] and outcome.compensated == ["charge", "reserve"]
    assert "no reply" in outcome.failure and refunded == Counter({"d1/charge/undo": 1})
    assert _runs(log)["d1 undo reserve"] == 1 and _runs(log)["d1 do audit"] == 0


def _coordinator(env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "hivebus.cli", "run", str(COORDINATOR), "--grace=2", *SESSION]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)


async def test_a_coordinator_killed_mid_compensation_resumes_it_running_each_once(
    stack: Endpoints, admin: AdminClient, registry: SchemaRegistryClient, tmp_path: Path
) -> None:
    t, log = _topics(admin), tmp_path / "saga.log"
    name, count = unique_name("saga-coord"), 20
    env = {**os.environ, "SAGA_AGENT": name, "SAGA_SOURCE": t["in"],
           "SAGA_OUTCOMES": t["outcomes"], "SAGA_LOG": str(log), "CHARGE_TOPIC": t["charge"],
           "CHARGED_TOPIC": t["charged"], "REFUND_TOPIC": t["refund"],
           "REFUNDED_TOPIC": t["refunded"]}  # fmt: skip
    # Every saga fails at its last step (ship): it undoes pack (a local step), then refunds
    # the charge (a call) and then undoes the reservation. The refunder is down until the
    # coordinator was killed and restarted, so the kill lands between the compensations.
    sagas = [f"k{i}" for i in range(count)]
    charged: Counter[str] = Counter()
    refunded: Counter[str] = Counter()
    charger, refunder = _banks(t, charged, refunded)
    serde = Serde(registry)
    first = _coordinator(env)
    second: subprocess.Popen[bytes] | None = None
    try:
        async with running([charger]):
            await publish(t["in"], [Ping(id=s, key=s, seq=0, payload="ship") for s in sagas])

            def all_refunding() -> bool:
                found, done = read_journals(serde, name), _runs(log)
                return (len(found) == count and all(j.state == "waiting" for j in found.values())
                        and all(done[f"{s} undo pack"] == 1 for s in sagas))  # fmt: skip

            await until(all_refunding, 120)
            before = _runs(log)
            assert all(before[f"{s} undo reserve"] == 0 for s in sagas), "kill mid-compensation"
            first.kill()  # -9
            first.wait(10)
            second = _coordinator(env)
            await asyncio.sleep(8)  # restored, still waiting: no refund is asked twice
            async with running([refunder]):
                got = await read_events(serde, t["outcomes"], SagaOutcome, count, timeout_s=120,
                                        committed_only=True)  # fmt: skip
                await asyncio.sleep(2)
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(40)
    outcomes = {r.event.saga_id: r.event for r in got}
    assert len(got) == count and sorted(outcomes) == sorted(sagas)
    assert all(o.status == "compensated" and o.compensated == ["pack", "charge", "reserve"]
               for o in outcomes.values())  # fmt: skip
    runs = _runs(log)
    for sid in sagas:  # every action and compensation ran exactly once, across the kill
        assert [runs[f"{sid} do {step}"] for step in ("reserve", "audit", "pack", "ship")] == [
            1
        ] * 4
        assert runs[f"{sid} choose"] == 1 and runs[f"{sid} undo pack"] == 1
        assert runs[f"{sid} undo reserve"] == 1 and runs[f"{sid} undo ship"] == 0
    assert set(charged.values()) == {1} and len(charged) == count
    assert set(refunded.values()) == {1} and len(refunded) == count, "each refund asked once"
    requests = await read_events(serde, t["refund"], Ping, count + 1, timeout_s=3)
    assert sorted(r.event.id for r in requests) == sorted(f"{s}/charge/undo" for s in sagas)
    # The idempotency key of each compensation is the same on every replay and retry.
    keys = [line.split()[-1] for line in log.read_text().splitlines() if " undo " in line]
    assert sorted(keys) == sorted(f"{s}/{step}/undo" for s in sagas for step in ("pack", "reserve"))


async def test_the_shop_reference_undoes_an_order_with_the_compensation_its_llm_chose(
    stack: Endpoints, registry: SchemaRegistryClient
) -> None:
    module = import_file(Path(__file__).parents[2] / "agents" / "shop_saga.py")
    prefix = unique_name("shop")
    shop = module.shop(prefix)
    contracts = import_file(Path(__file__).parents[2] / "agents" / "shop_contracts.py")
    orders = [
        contracts.ShopOrder(id=f"o-{fail or 'ok'}", customer="ada", item="kettle", amount=49.5,
                            address="1 Main St", loyal=True, fail_at=fail)
        for fail in ("", "payment", "shipping")
    ]  # fmt: skip
    serde = Serde(registry)
    async with running([shop.coordinator, shop.payments, shop.shipping]):
        async with Publisher("tests") as publisher:
            for order in orders:
                await publisher.publish(f"{prefix}.orders", order, key=order.id)
        got = await read_events(serde, f"{prefix}.outcomes", SagaOutcome, 3, timeout_s=90,
                                committed_only=True)  # fmt: skip
        payments = await read_events(serde, f"{prefix}.payments.requested",
                                     contracts.PaymentRequest, 4, timeout_s=5)  # fmt: skip
    outcomes = {r.event.saga_id: r.event for r in got}
    assert outcomes["o-ok"].status == "completed"
    assert outcomes["o-ok"].finished == ["order", "payment", "shipping"]
    declined = outcomes["o-payment"]
    assert (declined.status, declined.failed_step, declined.compensated) == (
        "compensated", "payment", ["order"])  # fmt: skip
    assert declined.failure == "card declined by the issuer" and declined.chosen_by == "declared"
    undeliverable = outcomes["o-shipping"]
    assert (undeliverable.status, undeliverable.compensated) == (
        "compensated",
        ["payment", "order"],
    )
    assert "cannot deliver" in undeliverable.failure
    chosen = undeliverable.plan["payment"]
    assert chosen in ("refund", "store_credit") and undeliverable.chosen_by == "chooser"
    assert undeliverable.choice_note  # the LLM's reason (the offline model's, without a key)
    kinds = sorted((r.event.order_id, r.event.kind) for r in payments)
    refunds = [("o-shipping", "refund")] if chosen == "refund" else []
    assert kinds == sorted([("o-ok", "charge"), ("o-payment", "charge"),
                            ("o-shipping", "charge"), *refunds])  # fmt: skip
