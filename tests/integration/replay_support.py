"""The replay tests' world: copies of the seed fraud agent with their own names and topics,
a day of transactions, and what to look at to prove nothing live was touched."""

from __future__ import annotations

import asyncio
import random
import types
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import confluent_kafka.admin as admin_api
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from hivebus import Publisher
from hivebus.contracts import Serde, registry_client
from hivebus.kafka.config import producer_config
from hivebus.kafka.connection import connection_settings
from hivebus.replay.groups import committed_offsets
from hivebus.replay.names import is_shadow
from hivebus.replay.ranges import Partition, list_offsets, partitions_of
from hivebus.runtime.loader import import_file
from hivebus.testing.stack import unique_name
from tests.integration.conftest import create_topic

SEED = Path(__file__).parents[2] / "agents"
CONTRACTS = SEED / "contracts.py"

# The agents import `.contracts`: the seed's own module, so every copy shares its classes.
SHIM = f"""
from pathlib import Path

from hivebus.runtime.loader import import_file

_seed = import_file(Path({str(CONTRACTS)!r}))
Transaction = _seed.Transaction
FlaggedTransaction = _seed.FlaggedTransaction
"""

COUNTRIES = ["DE", "US", "FR", "GB", "VE", "VE", "NG", "NG", "IR", "RU"]
MERCHANTS = ["Grocer", "Books", "Casino Royal", "Crypto Hut", "Airline", "Hotel"]


@dataclass
class World:
    """One test's agent name, topics and agent copies (in `folder`)."""

    folder: Path
    name: str
    prefix: str

    @property
    def card(self) -> str:
        return f"{self.prefix}.transactions.card"

    @property
    def wire(self) -> str:
        return f"{self.prefix}.transactions.wire"

    @property
    def flagged(self) -> str:
        return f"{self.prefix}.transactions.flagged"

    def create_topics(self, admin: AdminClient) -> None:
        for topic in (self.card, self.wire, self.flagged):
            create_topic(admin, topic, partitions=3)

    def write_agent(
        self, stem: str, *, rule: tuple[str, str] | None = None, sync: bool = False,
        changes: Sequence[tuple[str, str]] = (),
    ) -> Path:  # fmt: skip
        """A copy of agents/fraud.py under this world's names, with `rule` and `changes`
        (old, new text) made; `sync` makes its handler a plain `def`."""
        (self.folder / "contracts.py").write_text(SHIM)
        source = (SEED / "fraud.py").read_text()
        replacements = [
            ('"fraud-detector"', f'"{self.name}"'),
            ('"transactions.*"', f'"{self.prefix}.transactions.*"'),
            ('output="transactions.flagged"', f'output="{self.flagged}"'),
        ]
        if rule is not None:
            replacements.append(rule)
        replacements += changes
        if sync:
            replacements += [
                ("async def check(", "def check("),
                ('await ctx.step("score", score, tx)', "score(tx)"),
            ]
        for old, new in replacements:
            assert old in source, f"agents/fraud.py no longer has {old!r}"
            source = source.replace(old, new)
        path = self.folder / f"{stem}.py"
        path.write_text(source)
        return path

    def module(self, path: Path) -> types.ModuleType:
        return import_file(path.resolve())


def new_world(folder: Path) -> World:
    tag = unique_name("r").split(".")[1]
    return World(folder, f"fraud-detector-{tag}", f"replay_{tag}")


def transactions(contracts: types.ModuleType, count: int, seed: int = 13) -> list[Any]:
    rng = random.Random(seed)
    made = []
    for i in range(count):
        channel = rng.choice(["card", "card", "wire"])
        made.append(contracts.Transaction(
            id=f"tx-{seed}-{i}", account=f"acct-{rng.randrange(40)}",
            amount=round(rng.choice([rng.uniform(5, 600), rng.uniform(400, 3000),
                                     rng.uniform(5000, 20000)]), 2),
            currency="EUR", channel=channel, country=rng.choice(COUNTRIES),
            merchant=rng.choice(MERCHANTS),
            device_id=None if rng.random() < 0.5 else f"dev-{rng.randrange(99)}",
        ))  # fmt: skip
    return made


async def publish(world: World, txs: list[Any]) -> dict[str, Any]:
    """Publish each transaction to its channel's topic; returns them by their ce_id."""
    async with Publisher("replay-tests") as publisher:
        ids = []
        for tx in txs:
            topic = world.wire if tx.channel == "wire" else world.card
            ids.append(publisher.publish(topic, tx, key=tx.account))
        done = await asyncio.gather(*ids)
    return dict(zip(done, txs, strict=True))


def publish_foreign(world: World, txs: list[Any]) -> dict[str, Any]:
    """Publish each transaction as a client other than hivebus would: registry-framed Avro
    and a key, no headers (so no `ce_id`). Returns them by the stable id an agent names
    such an input by, `topic/partition/offset`."""
    serde = Serde(registry_client())
    producer = Producer(producer_config("replay-tests-foreign"))
    placed: dict[str, Any] = {}
    for tx in txs:
        topic = world.wire if tx.channel == "wire" else world.card

        def delivered(error: Any, message: Any, tx: Any = tx) -> None:
            assert error is None, error
            placed[f"{message.topic()}/{message.partition()}/{message.offset()}"] = tx

        value = serde.encoder(topic, type(tx)).encode(tx)
        producer.produce(topic, value, key=tx.account.encode(), on_delivery=delivered)
    assert producer.flush(30) == 0
    assert len(placed) == len(txs)
    return placed


def expected_output(module: types.ModuleType, tx: Any) -> dict[str, Any] | None:
    """What a fraud agent module writes for `tx`, from its rule alone (no Kafka)."""
    risk, reasons = module.score(tx)
    if risk < module.FLAG_AT:
        return None
    return {
        "tx_id": tx.id, "account": tx.account, "amount": tx.amount, "currency": tx.currency,
        "channel": tx.channel, "risk": round(risk, 3), "reasons": reasons,
    }  # fmt: skip


def live_ends(admin: AdminClient) -> dict[Partition, int]:
    """The end offset of every partition of every topic but shadows and Kafka's own."""
    topics = [
        t for t in admin.list_topics(timeout=10).topics
        if not is_shadow(t) and not t.startswith("__")
    ]  # fmt: skip
    partitions = partitions_of(admin, topics, 10)
    return list_offsets(admin, partitions, admin_api.OffsetSpec.latest(), 30)  # type: ignore[attr-defined,no-untyped-call]


def written_between(
    before: dict[Partition, int], after: dict[Partition, int]
) -> list[tuple[Partition, bytes | None, dict[str, str]]]:
    """Every record written to a live partition between two `live_ends` (key, headers)."""
    moved = {p: (before.get(p, 0), end) for p, end in after.items() if end > before.get(p, 0)}
    if not moved:
        return []
    consumer = Consumer({
        **connection_settings("consumer"), "group.id": f"replay-test-{uuid.uuid4().hex[:8]}",
        "enable.auto.commit": False, "enable.partition.eof": True,
        "isolation.level": "read_uncommitted",
    })  # fmt: skip
    consumer.assign([TopicPartition(t, p, start) for (t, p), (start, _) in moved.items()])
    left, found = set(moved), []
    try:
        while left:
            message = consumer.poll(5)
            if message is None:
                break
            where = (message.topic() or "", message.partition() or 0)
            if message.error() is not None or (message.offset() or 0) >= moved[where][1] - 1:
                left.discard(where)
            if message.error() is None and (message.offset() or 0) < moved[where][1]:
                headers = {k: (v or b"").decode(errors="replace")
                           for k, v in message.headers() or []}  # fmt: skip
                found.append((where, message.key(), headers))
    finally:
        consumer.close()
    return found


def group_offsets(admin: AdminClient, group: str) -> dict[Partition, int]:
    return committed_offsets(admin, group, None, 30)


# An agent whose step is a tool, an outside service whose answers change (it writes each call
# to `calls`; with `fails`, a third of them fail).
TOOL_AGENT = """
import hashlib

from pydantic import BaseModel

from hivebus import Agent, Audit, Context
from .contracts import FlaggedTransaction, Transaction

agent = Agent("{name}", middleware=[Audit()])


class Verdict(BaseModel):
    risk: float
    note: str


def score(tx_id: str) -> Verdict:  # the tool: an outside service, whose answers change
    with open({calls!r}, "a") as calls:
        calls.write(tx_id + "\\n")
    if {fails} and int(hashlib.sha1(tx_id.encode()).hexdigest(), 16) % 3 == 0:
        raise ValueError("the scoring service is down")
    return Verdict(risk={risk}, note="scored by {service} for " + tx_id)


@agent.on("{topic}", Transaction, output="{flagged}")
async def judge(tx: Transaction, ctx: Context) -> FlaggedTransaction:
    try:
        verdict = await ctx.step("score", score, tx.id, returns=Verdict)
    except Exception as error:
        verdict = Verdict(risk=-1.0, note=f"unscored: {{error}}")
    {extra}
    return FlaggedTransaction(
        tx_id=tx.id, account=tx.account, amount=tx.amount, currency=tx.currency,
        channel=tx.channel, risk=verdict.risk, reasons=[verdict.note],
    )
"""
