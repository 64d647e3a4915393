"""The seed example, end to end: `topology/payments.yaml` on the local stack.

The topology is applied first (topics, and contracts v1 and v2 of a transaction), then its
agents, `agents/fraud.py` and `agents/compliance.py`, run in their own worker process
(`hivebus run topology/payments.yaml`), exactly as they would in a container. This process
plays the bank: it publishes card and wire transactions written with contract v1, then with
v2 (a new field with a default) side by side with v1, printing each flag and each compliance
decision as it arrives.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, KafkaException

from hivebus.contracts import Record, Serde, parse_headers, register, registry_client
from hivebus.kafka.admin import admin_client
from hivebus.kafka.connection import connection_settings
from hivebus.kafka.records import one
from hivebus.runtime import Publisher
from hivebus.runtime.directory import read_directory
from hivebus.runtime.loader import import_file
from hivebus.topology import load_topology, wire
from hivebus.topology.apply import apply_plan
from hivebus.topology.plan import make_plan

Say = Callable[[str], None]
AGENTS = ("fraud-detector", "compliance-officer")
MERCHANTS = ["grocer", "bookshop", "airline", "casino royale", "crypto-xchg", "pharmacy", "hotel"]
COUNTRIES = ["FR", "DE", "US", "GB", "IR", "NL", "RU", "ES", "KP"]


@dataclass
class Outcome:
    flagged: dict[str, Any] = field(default_factory=dict)
    decisions: dict[str, Any] = field(default_factory=dict)
    correlations: dict[str, str] = field(default_factory=dict)  # tx id -> its causal tree


def run(agents_dir: Path, count: int = 30, say: Say = print) -> Outcome:
    """Run the whole example; returns what was flagged and decided."""
    contracts = import_file((agents_dir / "contracts.py").resolve())
    fraud = import_file((agents_dir / "fraud.py").resolve())
    topology = agents_dir.parent / "topology" / "payments.yaml"
    _apply(topology, say)
    serde = Serde(registry_client())
    outcome = Outcome()
    watcher = _Watcher(serde, contracts, outcome, say)
    watcher.start()
    log = Path(os.environ.get("HIVEBUS_STATE_DIR") or ".hivebus") / "demo-worker.log"
    worker = _start_worker(topology, log, say)
    try:
        wait_for_agents(serde, worker, say)
        v1 = [_transaction(contracts.TransactionV1, f"v1-{i:04d}", i) for i in range(count)]
        say(f"\n== publishing {count} transactions written with contract v1 ==")
        asyncio.run(_publish(v1, "bank-core-v1"))
        _wait_until(lambda: len(outcome.decisions) >= _expected(fraud, contracts, v1), 60)

        say("\n== Transaction v2: new field device_id, default null (the topology has it) ==")
        client = registry_client()
        v2_contract = contracts.Transaction.contract()
        for topic in ("transactions.card", "transactions.wire"):
            schema_id = register(client, v2_contract, topic)
            say(f"{v2_contract.fullname} v2 for {topic}: schema id {schema_id}")
        v2 = [_transaction(contracts.Transaction, f"v2-{i:04d}", 1000 + i) for i in range(count)]
        old = [
            _transaction(contracts.TransactionV1, f"v1-{i:04d}", i) for i in range(count, 2 * count)
        ]
        say(f"\n== publishing {count} v2 and {count} more v1 transactions into the same topics ==")
        asyncio.run(_publish(_interleave(v2, old), "bank-core-mixed"))
        everything = v1 + v2 + old
        expected = _expected(fraud, contracts, everything)
        _wait_until(lambda: len(outcome.decisions) >= expected, 90)
        _summary(everything, outcome, expected, say)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(60)
        watcher.stop()
        say(f"worker stopped gracefully (exit {worker.returncode}); its log: {log}")
    return outcome


def _transaction(model: type[Record], tx_id: str, seed: int) -> Record:
    rng = random.Random(seed)
    channel = rng.choice(["card", "card", "wire"])
    amount = round(rng.lognormvariate(6.5 if channel == "card" else 8.5, 1.2), 2)
    fields: dict[str, Any] = {
        "id": tx_id, "account": f"acct-{rng.randint(1, 12):03d}", "amount": amount,
        "currency": rng.choice(["EUR", "USD", "GBP"]), "channel": channel,
        "country": rng.choice(COUNTRIES), "merchant": rng.choice(MERCHANTS),
    }  # fmt: skip
    if "device_id" in model.model_fields:
        fields["device_id"] = f"dev-{rng.randint(1, 500)}" if rng.random() < 0.7 else None
    return model(**fields)


async def _publish(transactions: list[Record], source: str) -> None:
    async with Publisher(source) as publisher:
        for tx in transactions:
            data = tx.model_dump()
            await publisher.publish(f"transactions.{data['channel']}", tx, key=data["account"])


def _interleave(first: list[Record], second: list[Record]) -> list[Record]:
    return [tx for pair in zip(first, second, strict=True) for tx in pair]


def _expected(fraud: Any, contracts: Any, transactions: list[Record]) -> int:
    """How many flags the fraud agent should raise: its own rule, applied here."""
    current = [contracts.Transaction(**{**tx.model_dump()}) for tx in transactions]
    return sum(fraud.score(tx)[0] >= fraud.FLAG_AT for tx in current)


def _apply(topology: Path, say: Say) -> None:
    """`hivebus topology apply`, in process: what the example needs, created idempotently."""
    loaded = load_topology(topology)
    wire(loaded)
    admin, registry = admin_client(), registry_client()
    plan = make_plan(loaded, admin, registry)
    say(f"== hivebus topology apply {topology.parent.name}/{topology.name} ==")
    if not plan.changes and not plan.problems:
        say("no changes: the topics and contracts are in place")
        return
    apply_plan(plan, admin, registry, say=say)


def _start_worker(topology: Path, log: Path, say: Say) -> subprocess.Popen[bytes]:
    log.parent.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "hivebus.cli", "run", str(topology), "--heartbeat", "2",
    ]  # fmt: skip
    say("starting the agents' worker: hivebus run topology/payments.yaml")
    with log.open("ab") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)


def wait_for_agents(
    serde: Serde, worker: subprocess.Popen[bytes], say: Say, names: tuple[str, ...] = AGENTS
) -> None:
    """Wait until each of `names` has a live instance in the directory, and say so."""
    from datetime import UTC, datetime

    deadline, last_error = time.monotonic() + 60, None
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise RuntimeError(f"the worker exited with {worker.returncode}; see its log")
        try:
            views = read_directory(serde, timeout_s=5)
        except KafkaException as error:  # a fresh broker: the directory still being created
            last_error = error  # or electing its leader; asked again until the deadline
            time.sleep(0.5)
            continue
        live = [n for n in names if n in views and views[n].live_instances(datetime.now(UTC))]
        if len(live) == len(names):
            for name in names:
                latest = views[name].latest
                say(f"live: {name} v{latest.version} subscribes {', '.join(latest.subscriptions)}")
            return
        time.sleep(1)
    raise TimeoutError(f"the agents did not announce themselves within 60 s (last error "
                       f"reading the directory: {last_error})")  # fmt: skip


def _wait_until(condition: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the agents did not finish within {timeout_s:.0f} s")
        time.sleep(0.2)


def _summary(transactions: list[Record], outcome: Outcome, expected: int, say: Say) -> None:
    by_version = Counter(tx.model_dump()["id"][:2] for tx in transactions)
    flagged = Counter(tx_id[:2] for tx_id in outcome.flagged)
    decisions = Counter(d["decision"] for d in outcome.decisions.values())
    say("\n== summary ==")
    say(f"published: {by_version['v1']} v1 and {by_version['v2']} v2 transactions")
    say(f"flagged:   {sum(flagged.values())} (v1: {flagged['v1']}, v2: {flagged['v2']}); "
        f"expected by the fraud rules: {expected}")  # fmt: skip
    say(
        f"decided:   {len(outcome.decisions)} -> "
        + ", ".join(f"{k} {v}" for k, v in sorted(decisions.items()))
    )
    unanswered = sorted(set(outcome.flagged) - set(outcome.decisions))
    say(
        "every flagged transaction has a compliance decision"
        if not unanswered
        else f"undecided: {unanswered}"
    )
    if outcome.correlations:  # both agents are audited (middleware=[Audit(...)])
        tx_id, correlation = sorted(outcome.correlations.items())[0]
        say(f"\nthe black box of {tx_id}, across both agents: hivebus history trace {correlation}")
        say("every decision, step and LLM call: hivebus history stats; their cost: hivebus "
            "history cost")  # fmt: skip


def decision_line(decision: Any) -> str:
    """How the demo prints a compliance decision: the model that wrote the rationale, once.

    The offline provider starts its text with "[offline]" as well as naming itself as the
    model, so the tag is dropped from the rationale when it repeats the one printed before it.
    """
    tag = f"[{decision.model}]"
    rationale = decision.rationale.removeprefix(tag).lstrip()
    return f"DECISION  {decision.tx_id}  {decision.decision:<6} {tag} {rationale[:90]}"


class _Watcher:
    """Prints flags and decisions as they arrive, from a plain consumer in a thread."""

    def __init__(self, serde: Serde, contracts: Any, outcome: Outcome, say: Say) -> None:
        self._serde, self._contracts, self._outcome, self._say = serde, contracts, outcome, say
        self._stop = threading.Event()
        self._joined = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._joined.wait(30)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        consumer = Consumer({
            **connection_settings("consumer"),
            "group.id": f"hivebus-demo-watcher-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "latest",
            "enable.auto.commit": False,
        })  # fmt: skip
        consumer.subscribe(
            ["transactions.flagged", "compliance.decisions"],
            on_assign=lambda c, partitions: self._joined.set(),
        )
        flagged_type, decision_type = (
            self._contracts.FlaggedTransaction,
            self._contracts.ComplianceDecision,
        )
        while not self._stop.is_set():
            polled = consumer.poll(0.2)
            if polled is None or polled.error() is not None:
                continue
            message = one(polled)
            if message.topic() == "transactions.flagged":
                flag = self._serde.decode(message.value() or b"", flagged_type)
                self._outcome.flagged[flag.tx_id] = flag
                reasons = "; ".join(flag.reasons)
                self._say(
                    f"FLAGGED   {flag.tx_id}  {flag.channel:<4} {flag.amount:>12,.2f} "
                    f"{flag.currency}  risk {flag.risk:.2f}  ({reasons})"
                )
            else:
                decision = self._serde.decode(message.value() or b"", decision_type)
                self._outcome.decisions[decision.tx_id] = decision.model_dump()
                meta = parse_headers(message.headers())
                if meta is not None and meta.correlation_id:
                    self._outcome.correlations[decision.tx_id] = meta.correlation_id
                self._say(decision_line(decision))
        consumer.close()
