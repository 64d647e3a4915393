"""The black box on the real broker and registry: the seed example audited end to end, the
trace rebuilt by the CLI, the audit's own contract evolving, redaction, dead letters,
sampling, and a durable run's steps."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from secrets import token_urlsafe
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import NewTopic
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from pydantic import Field

from hivebus import Agent, Audit, Context, Publisher, Retry
from hivebus.audit import AuditBatch, AuditBlob, AuditEvent
from hivebus.audit.expand import events_of
from hivebus.audit.records import PlainColumns, PlainDecision, PlainDecisions, PlainLineage
from hivebus.audit.restore import restore
from hivebus.audit.settings import AuditSettings
from hivebus.audit.store import AuditStore
from hivebus.contracts import HeaderBuilder, Record, Serde, registry_client
from hivebus.dev import Endpoints
from hivebus.kafka.connection import connection_settings
from hivebus.runtime.loader import import_file, load_agents
from hivebus.runtime.middlewares import NonRetryableError
from hivebus.testing.reader import read_events
from hivebus.testing.stack import unique_name
from hivebus.testing.worker import running
from tests.integration.runtime_contracts import Ping, Pong
from tests.integration.runtime_support import hivebus, pings, publish, topics

AGENTS = Path(__file__).parents[2] / "agents"
AUDIT_V1 = Path(__file__).parents[2] / "hivebus" / "audit" / "schemas" / "AuditBatch.avsc"


@pytest.fixture
def audit_topic() -> Iterator[str]:
    """A fresh audit topic for the test, as HIVEBUS_AUDIT_TOPIC (what workers and CLIs read)."""
    topic = unique_name("audit")
    saved = os.environ.get("HIVEBUS_AUDIT_TOPIC")
    os.environ["HIVEBUS_AUDIT_TOPIC"] = topic
    try:
        yield topic
    finally:
        if saved is None:
            os.environ.pop("HIVEBUS_AUDIT_TOPIC", None)
        else:
            os.environ["HIVEBUS_AUDIT_TOPIC"] = saved


async def projected(
    topic: str, done: Callable[[AuditStore], bool], timeout_s: float = 60
) -> AuditStore:
    """The audit topic projected into a store, read again until `done(store)`."""
    store, serde = AuditStore(), Serde(registry_client())
    settings = AuditSettings(topic=topic)
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        await asyncio.to_thread(restore, store, serde, settings)
        if done(store):
            return store
        assert asyncio.get_running_loop().time() < deadline, f"{topic}: {store.count()} events"
        await asyncio.sleep(0.3)


def raw_records(topic: str) -> list[tuple[int, int, bytes | None, bytes]]:
    """(partition, offset, key, value) of every committed record of `topic`, by position."""
    return [(partition, offset, key, value) for partition, offset, key, value, _ in _all(topic)]


def _all(topic: str) -> list[tuple[int, int, bytes | None, bytes, dict[str, bytes]]]:
    """`raw_records`, each with its headers."""
    consumer = Consumer({
        **connection_settings("consumer"), "group.id": unique_name("audit-raw"),
        "enable.auto.commit": False, "isolation.level": "read_committed",
    })  # fmt: skip
    found = []
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {}
        for p in partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            if high > low:
                ends[p] = high
        consumer.assign([TopicPartition(topic, p, 0) for p in ends])
        for _ in range(200):
            for message in consumer.consume(500, timeout=0.2):
                if message.error() is None:
                    found.append((
                        message.partition(), message.offset(), message.key(), message.value(),
                        dict(message.headers() or []),
                    ))  # fmt: skip
            for tp in consumer.position([TopicPartition(topic, p) for p in list(ends)]):
                if tp.offset >= ends[tp.partition]:  # (a transaction's markers count too)
                    del ends[tp.partition]
            if not ends:
                break
        assert not ends, f"reading {topic} stalled"
    finally:
        consumer.close()
    return sorted(found, key=lambda r: (r[0], r[1]))


# The seed example: fraud + compliance, the LLM the offline provider (no key in the tests).


async def test_the_seed_example_is_audited_in_causal_order_and_traced_across_agents(
    stack: Endpoints, audit_topic: str
) -> None:
    [fraud] = load_agents(str(AGENTS / "fraud.py"))
    [compliance] = load_agents(str(AGENTS / "compliance.py"))
    contracts = import_file((AGENTS / "contracts.py").resolve())
    account = unique_name("acct-secret")
    risky = contracts.Transaction(
        id=unique_name("tx"), account=account, amount=2500.0, currency="EUR", channel="card",
        country="IR", merchant="Casino Royal",
    )  # fmt: skip
    calm = contracts.Transaction(
        id=unique_name("tx"), account=account, amount=12.0, currency="EUR", channel="card",
        country="FR", merchant="grocer", device_id="dev-1",
    )  # fmt: skip
    async with Publisher("bank-tests") as publisher:  # first, so transactions.card exists
        risky_id = await publisher.publish("transactions.card", risky, key=account)
        calm_id = await publisher.publish("transactions.card", calm, key=account)
    async with running([fraud, compliance]):

        def complete(store: AuditStore) -> bool:
            mine = store.events(correlation_id=risky_id) + store.events(correlation_id=calm_id)
            return sum(e.kind == "decision" for e in mine) >= 3

        store = await projected(audit_topic, complete)

    # Every decision, step and LLM call of the tree, in causal order in the log: the
    # correlation is the key, so one partition holds the whole tree.
    serde = Serde(registry_client())
    events, partitions = [], set()
    for partition, _, _, value in raw_records(audit_topic):  # in log order
        mine = [
            e for e in events_of(serde.decode(value, AuditBatch)) if e.correlation_id == risky_id
        ]
        events += mine
        partitions |= {partition} if mine else set()
    assert len(partitions) == 1  # the correlation places every event of its tree
    assert [(e.agent, e.kind) for e in events] == [
        ("fraud-detector", "step"),
        ("fraud-detector", "decision"),
        ("compliance-officer", "llm"),
        ("compliance-officer", "step"),
        ("compliance-officer", "decision"),
    ]
    score, flagging, llm, rationale, deciding = events
    assert score.step is not None and score.step.name == "score" and score.outcome == "ok"
    assert json.loads(score.step.result or "")[0] >= 0.7
    assert flagging.input is not None and flagging.input.event_id == risky_id
    assert flagging.input.topic == "transactions.card" and flagging.outcome == "ok"
    [flag] = flagging.outputs
    assert flag.topic == "transactions.flagged"
    assert flag.type == contracts.FlaggedTransaction.fullname
    assert deciding.input is not None and deciding.input.event_id == flag.event_id
    assert deciding.input.causation_id == risky_id
    [decided] = deciding.outputs
    assert decided.topic == "compliance.decisions"
    assert {e.correlation_id for e in events} == {risky_id}
    assert llm.llm is not None and llm.llm.model == "offline" and llm.llm.step == "rationale"
    assert llm.llm.prompt_tokens > 0 and llm.llm.completion_tokens > 0
    assert llm.llm.cost == 0.0 and llm.llm.latency_ms >= 0
    assert rationale.step is not None and rationale.step.llm_requests == 1
    assert rationale.step.prompt_tokens == llm.llm.prompt_tokens
    # The calm transaction: a decision with no output, its own correlation.
    [calm_decision] = [e for e in store.events(correlation_id=calm_id) if e.kind == "decision"]
    assert calm_decision.outputs == [] and calm_decision.outcome == "ok"

    # The prompt and reply are kept by reference, in the blob topic.
    blobs = [serde.decode(v, AuditBlob) for _, _, _, v in raw_records(f"{audit_topic}.blobs")]
    by_sha = {b.sha256: b for b in blobs}
    assert llm.llm.prompt_ref and llm.llm.response_ref
    prompt = by_sha[llm.llm.prompt_ref.removeprefix("sha256:")]
    reply = by_sha[llm.llm.response_ref.removeprefix("sha256:")]
    assert "Write a one-sentence rationale" in prompt.data and reply.data.startswith("[offline]")

    # The account is a sensitive field: redacted in the payloads, scrubbed from the prompt
    # and the reply, nowhere in the audit's bytes.
    assert flagging.input.payload is not None
    assert json.loads(flagging.input.payload)["account"] == "[redacted]"
    assert json.loads(flagging.input.payload)["merchant"] == "Casino Royal"
    assert json.loads(flag.payload or "{}")["account"] == "[redacted]"
    assert "[redacted]" in prompt.data and "[redacted]" in reply.data
    everything = raw_records(audit_topic) + raw_records(f"{audit_topic}.blobs")
    assert not [r for r in everything if account.encode() in r[3]]

    # The projections: statistics per agent and cost per correlation.
    stats = {s.agent: s for s in store.agent_stats()}
    assert stats["fraud-detector"].decisions >= 2 and stats["compliance-officer"].llm_calls >= 1
    [cost] = store.costs(risky_id)
    assert (cost.llm_calls, cost.cost) == (1, 0.0)
    assert cost.prompt_tokens == llm.llm.prompt_tokens

    # `hivebus history trace`: the tree across both agents, from ce_causationid.
    traced = hivebus("history", "trace", risky_id)
    assert traced.returncode == 0, traced.stderr
    lines = traced.stdout.splitlines()

    def line(text: str) -> tuple[int, str]:
        [(number, found)] = [(i, entry) for i, entry in enumerate(lines) if text in entry]
        return number, found

    def depth(entry: str) -> int:
        return (len(entry) - len(entry.lstrip(" │├└─"))) // 3

    order = [
        line("event Transaction on transactions.card"),
        line("decision fraud-detector 1.0: ok"),
        line("step score: ok"),
        line("event FlaggedTransaction on transactions.flagged"),
        line("decision compliance-officer 1.0: ok"),
        line("step rationale: ok"),
        line("llm offline:"),
        line("event ComplianceDecision on compliance.decisions"),
    ]
    numbers = [number for number, _ in order]
    assert numbers == sorted(numbers), traced.stdout
    depths = [depth(entry) for _, entry in order]
    assert depths == [0, 1, 2, 2, 3, 4, 5, 4], traced.stdout
    assert account not in traced.stdout

    as_json = hivebus("history", "trace", risky_id, "--json")
    nodes = json.loads(as_json.stdout)
    kinds = [(n["depth"], n["kind"], n.get("agent")) for n in nodes]
    assert (3, "decision", "compliance-officer") in kinds and (
        1,
        "decision",
        "fraud-detector",
    ) in kinds

    # `hivebus history at`: what compliance had seen at its first step.
    seen = hivebus("history", "at", flag.event_id, "--step", "1", "--json")
    assert seen.returncode == 0, seen.stderr
    snapshot = json.loads(seen.stdout)
    assert snapshot["agent"] == "compliance-officer" and snapshot["input_source"] == "audit"
    assert snapshot["input"]["account"] == "[redacted]" and snapshot["input"]["tx_id"] == risky.id
    assert [s["name"] for s in snapshot["steps"]] == ["rationale"]
    assert snapshot["steps"][0]["result"]["model"] == "offline"


# The audit's own contract evolves under the registry's rules.

AUDIT_V3_NOTE = {"name": "note", "type": ["null", "string"], "default": None,
                 "doc": "v3: a field the earlier versions do not have"}  # fmt: skip


async def test_the_audit_stays_readable_across_an_evolution_of_its_contract(
    stack: Endpoints, registry: SchemaRegistryClient, audit_topic: str, tmp_path: Path
) -> None:
    # v0: the contract before plain decisions; v1: with them row by row; v2: the shipped one
    # (by column too); v3: the shipped one and a note.
    shipped = json.loads(AUDIT_V1.read_text())
    v1_schema = {**shipped, "fields": [f for f in shipped["fields"] if f["name"] != "columns"]}
    v0_schema = {**shipped, "fields": [f for f in v1_schema["fields"] if f["name"] != "plain"]}
    (tmp_path / "AuditBatch.v0.avsc").write_text(json.dumps(v0_schema))
    (tmp_path / "AuditBatch.v1.avsc").write_text(json.dumps(v1_schema))
    schema = json.loads(AUDIT_V1.read_text())
    schema["fields"][0]["type"]["items"]["fields"].append(AUDIT_V3_NOTE)
    (tmp_path / "AuditBatch.v3.avsc").write_text(json.dumps(schema))

    class AuditBatchV0(Record, avsc=tmp_path / "AuditBatch.v0.avsc"):
        events: list[AuditEvent] = Field(default_factory=list)

    class AuditBatchV1(Record, avsc=tmp_path / "AuditBatch.v1.avsc"):
        events: list[AuditEvent] = Field(default_factory=list)
        plain: list[PlainDecisions] = Field(default_factory=list)

    class AuditEventV3(AuditEvent, avsc=None):
        note: str | None = None

    class AuditBatchV3(Record, avsc=tmp_path / "AuditBatch.v3.avsc"):
        events: list[AuditEventV3] = Field(default_factory=list)
        plain: list[PlainDecisions] = Field(default_factory=list)
        columns: list[PlainColumns] = Field(default_factory=list)

    subject = f"{audit_topic}-value"
    serde = Serde(registry)
    registry.set_compatibility(subject, "BACKWARD")
    ids = [registry.register_schema(subject, Schema(model.contract().schema_str, "AVRO"))
           for model in (AuditBatchV0, AuditBatchV1)]  # fmt: skip
    v0 = await serde.encoder_async(audit_topic, AuditBatchV0)
    v1 = await serde.encoder_async(audit_topic, AuditBatchV1)
    v2 = await serde.encoder_async(audit_topic, AuditBatch)  # the shipped contract
    ids += [
        v2.schema_id,
        registry.register_schema(subject, Schema(AuditBatchV3.contract().schema_str, "AVRO")),
    ]
    assert len(set(ids)) == 4 and [v0.schema_id, v1.schema_id] == ids[:2]
    assert registry.get_latest_version(subject).version == 4
    v3 = await serde.encoder_async(audit_topic, AuditBatchV3)
    assert v3.schema_id == ids[3]
    old = AuditEvent(
        kind="decision", decision_id="a/1", seq=0, agent="a", agent_version="1",
        correlation_id="c-evolves", at_ms=1, duration_ms=1.0, outcome="ok",
    )  # fmt: skip
    older = AuditEvent(**{**old.model_dump(), "decision_id": "a/0"})
    shipped_event = AuditEvent(**{**old.model_dump(), "decision_id": "a/2"})
    new = AuditEventV3(**{**old.model_dump(), "decision_id": "a/3", "note": "from v3"})
    rows = PlainDecisions(
        agent="a", agent_version="1", topic="t", partition=0, names=["x.T"], offset=5,
        at_ms=1, rows=[PlainDecision(offset_delta=0, event_id="4", correlation_id="c-evolves",
                                     at_delta_ms=0, duration_ms=0.5, attempt=1, type=0,
                                     outputs=[])],
    )  # fmt: skip
    columns = PlainColumns(
        agent="a", agent_version="1", topic="t", partition=1, names=["x.T", "u", "x.U"], type=0,
        output_topic=1, output_type=2, offset=9, at_ms=1, clock=100.0, offset_deltas=[0],
        event_ids=["5"], lineage=[PlainLineage(correlation_id="c-evolves")], began=[100.5],
        ended=[100.75], output_ids=["o5"], odd=[],
    )  # fmt: skip
    headers, producer = HeaderBuilder("hivebus://tests"), Producer(connection_settings("producer"))
    batches = (
        (v0, AuditBatchV0(events=[older])),
        (v1, AuditBatchV1(events=[old], plain=[rows])),
        (v2, AuditBatch(events=[shipped_event], columns=[columns])),
        (v3, AuditBatchV3(events=[new])),
    )
    for encoder, batch in batches:  # into one log, as four writers would
        built, _ = headers.build(batch.fullname, correlation_id="c-evolves")
        producer.produce(audit_topic, encoder.encode(batch), key="c-evolves", headers=built)
    assert producer.flush(30) == 0

    store = await projected(audit_topic, lambda s: len(s.events(correlation_id="c-evolves")) == 6)
    read = {e.decision_id: e for e in store.events(correlation_id="c-evolves")}
    assert set(read) == {f"a/{n}" for n in range(6)}  # every version through the shipped reader
    assert read["a/4"].input is not None and read["a/4"].input.offset == 5
    by_column = read["a/5"]
    assert by_column.input is not None and (by_column.input.partition, by_column.input.offset) == (
        1, 9)  # fmt: skip
    assert (by_column.at_ms, by_column.duration_ms) == (501, 250.0)
    assert [(o.topic, o.event_id, o.type) for o in by_column.outputs] == [("u", "o5", "x.U")]
    values = [v for _, _, _, v in raw_records(audit_topic)]
    assert {int.from_bytes(v[1:5], "big") for v in values} == set(ids)
    as_v3 = [e for v in values for e in events_of(Serde(registry).decode(v, AuditBatchV3))]
    assert sorted((e.decision_id, getattr(e, "note", None)) for e in as_v3) == [
        ("a/0", None), ("a/1", None), ("a/2", None), ("a/3", "from v3"), ("a/4", None),
        ("a/5", None),
    ]  # fmt: skip
    # An incompatible change is refused by the registry: the audit cannot be broken silently.
    broken = json.loads(AUDIT_V1.read_text())
    broken["fields"][0]["type"]["items"]["fields"].append({"name": "now", "type": "string"})
    assert not registry.test_compatibility(subject, Schema(json.dumps(broken), "AVRO"))


# Failures, sampling, durable runs.


async def test_a_dead_lettered_record_appears_as_such_with_its_failed_step(
    stack: Endpoints, admin: object, audit_topic: str
) -> None:
    source, output = topics(admin, "audit-dlq")  # type: ignore[arg-type]
    name = unique_name("audit-dlq")
    agent = Agent(name, retry=Retry(attempts=2, backoff_s=0.01), middleware=[Audit()])

    def lookup(ping_id: str) -> str:
        raise LookupError(f"no such customer for {ping_id}")

    @agent.on(source, Ping, output=output)
    async def handle(ping: Ping, ctx: Context) -> Pong:
        if ping.seq == 1:
            raise NonRetryableError("refused at once")
        if ping.id == "p0":
            await ctx.step("lookup", lookup, ping.id)
        return Pong(id=ping.id, key=ping.key, seq=ping.seq, handled_by=ctx.agent)

    events = [*pings(2, keys=1), Ping(id="p2", key="k1", seq=2, payload="")]
    async with running([agent]):
        ids = await publish(source, events)

        def decided(store: AuditStore) -> bool:
            found = [e for i in ids for e in store.events(correlation_id=i)]
            return sum(e.kind == "decision" for e in found) == 3

        store = await projected(audit_topic, decided)
    by_id = {i: store.events(correlation_id=i) for i in ids}
    failed_step, first = by_id[ids[0]][-2:]
    refused = by_id[ids[1]][-1]
    fine = by_id[ids[2]][-1]
    assert first.kind == "decision" and first.outcome == "dead-lettered"
    assert first.attempt == 2 and first.outputs == []
    assert first.error is not None and first.error.type == "LookupError"
    assert first.error.dead_letter_topic == f"hivebus.dlq.{name}"
    steps = [e for e in by_id[ids[0]] if e.kind == "step"]
    assert [(s.attempt, s.outcome) for s in steps] == [(1, "failed"), (2, "failed")]
    assert steps[0].error is not None and steps[0].error.type == "LookupError"
    assert failed_step.kind == "step"
    [retried] = [e for e in by_id[ids[0]] if e.kind == "attempt"]  # the last is the decision's
    assert (retried.attempt, retried.outcome) == (1, "failed")
    assert retried.error is not None and retried.error.type == "LookupError"
    assert refused.outcome == "dead-lettered" and refused.attempt == 1
    assert refused.error is not None and refused.error.type == "NonRetryableError"
    assert fine.outcome == "ok" and [o.topic for o in fine.outputs] == [output]


async def test_each_failed_attempt_that_was_retried_is_audited_with_its_error(
    stack: Endpoints, admin: object, audit_topic: str
) -> None:
    source, output = topics(admin, "audit-retried")  # type: ignore[arg-type]
    name = unique_name("audit-retried")
    agent = Agent(name, retry=Retry(attempts=4, backoff_s=0.01), middleware=[Audit()])
    tries: dict[str, int] = {}

    @agent.on(source, Ping, output=output)
    def flaky(ping: Ping, ctx: Context) -> Pong:  # a plain def: retried as a task
        tries[ping.id] = tries.get(ping.id, 0) + 1
        if tries[ping.id] < 3:
            raise ConnectionError(f"try {tries[ping.id]} of {ping.id}: the service is down")
        return Pong(id=ping.id, key=ping.key, seq=ping.seq, handled_by=ctx.agent)

    async with running([agent]):
        [flaky_id] = await publish(source, pings(1))

        def decided(store: AuditStore) -> bool:
            return any(e.kind == "decision" for e in store.events(correlation_id=flaky_id))

        store = await projected(audit_topic, decided)
    events = store.events(correlation_id=flaky_id)
    assert [(e.kind, e.attempt, e.outcome) for e in events] == [
        ("attempt", 1, "failed"), ("attempt", 2, "failed"), ("decision", 3, "ok")
    ]  # fmt: skip
    assert [e.error.message for e in events[:2] if e.error] == [
        "try 1 of p0: the service is down", "try 2 of p0: the service is down"
    ]  # fmt: skip
    assert {e.error.type for e in events[:2] if e.error} == {"ConnectionError"}
    assert events[2].error is None and [o.topic for o in events[2].outputs] == [output]
    shown = hivebus("history", "trace", flaky_id)  # (the audit topic: in the environment)
    assert shown.returncode == 0, shown.stderr
    assert "attempt 1 failed, retried  ConnectionError: try 1 of p0" in shown.stdout
    assert "attempt 2 failed, retried  ConnectionError: try 2 of p0" in shown.stdout


async def test_plain_decisions_go_in_columns_one_per_record_handled(
    stack: Endpoints, admin: object, audit_topic: str
) -> None:
    source, output = topics(admin, "audit-plain")  # type: ignore[arg-type]
    agent = Agent(unique_name("audit-plain"), middleware=[Audit()])

    @agent.on(source, Ping, output=output)
    def relay(ping: Ping, ctx: Context) -> Pong:
        return Pong(id=ping.id, key=ping.key, seq=ping.seq, handled_by=ctx.agent)

    async with running([agent]):
        ids = await publish(source, pings(300, keys=30))
        got = await read_events(Serde(registry_client()), output, Pong, 300, timeout_s=60)
        store = await projected(audit_topic, lambda s: s.count() >= 300)
    # What each input and output really is, from the topics themselves.
    inputs = {r[3]: (r[0], r[1]) for r in _headers_of(source)}  # ce_id -> (partition, offset)
    assert set(inputs) == set(ids)
    output_of = {g.meta.causation_id: g.meta.id for g in got if g.meta is not None}
    decisions = [e for i in ids for e in store.events(correlation_id=i)]
    assert len(decisions) == 300 and {e.kind for e in decisions} == {"decision"}
    for decision in decisions:
        assert decision.input is not None and decision.outcome == "ok"
        event_id = decision.input.event_id
        assert decision.decision_id == f"{agent.name}/{event_id}"
        assert (decision.input.partition, decision.input.offset) == inputs[event_id]
        assert [(o.topic, o.event_id) for o in decision.outputs] == [(output, output_of[event_id])]
        assert decision.input.type == Ping.fullname and decision.outputs[0].type == Pong.fullname
    # In columns: every decision about one input partition on one audit partition.
    placed: dict[tuple[str, int], set[int]] = {}
    for partition, _, _, value in raw_records(audit_topic):
        batch = Serde(registry_client()).decode(value, AuditBatch)
        assert batch.events == [] and batch.plain == []
        for group in batch.columns:
            placed.setdefault((group.topic, group.partition), set()).add(partition)
    assert set(placed) == {(source, p) for p, _ in inputs.values()}
    assert all(len(on) == 1 for on in placed.values())


async def test_what_a_handler_s_task_publishes_late_never_lands_in_another_decision(
    stack: Endpoints, admin: object, audit_topic: str
) -> None:
    # A plain `def` handling's trail is used again for the next handling. A task the handler
    # started, still running once the handling is over, must not tell that next handling's
    # decision of what it publishes.
    source, output = topics(admin, "audit-held", partitions=1)  # type: ignore[arg-type]
    late, _ = topics(admin, "audit-held-late", partitions=1)  # type: ignore[arg-type]
    agent = Agent(unique_name("audit-held"), middleware=[Audit()])
    tasks: list[asyncio.Task[None]] = []

    async def publish_late(ctx: Context, seq: int) -> None:
        await asyncio.sleep(0.05)  # the next records are handled meanwhile
        await ctx.publish(late, Pong(id=f"late-{seq}", key="k", seq=seq, handled_by="task"))

    @agent.on(source, Ping, output=output)
    def relay(ping: Ping, ctx: Context) -> Pong:
        if ping.seq % 2 == 0:
            tasks.append(asyncio.get_running_loop().create_task(publish_late(ctx, ping.seq)))
        return Pong(id=ping.id, key=ping.key, seq=ping.seq, handled_by=ctx.agent)

    sent = pings(40, keys=1)
    async with running([agent]):
        ids = await publish(source, sent[:20])
        await projected(audit_topic, lambda s: s.count() >= 20)
        await asyncio.gather(*tasks)  # published late, while the trail waits to be used again
        ids += await publish(source, sent[20:])
        store = await projected(audit_topic, lambda s: s.count() >= 40)
        await asyncio.gather(*tasks)
    assert len(tasks) == 20
    lates = {headers["ce_id"].decode() for _, _, _, _, headers in _all(late)}
    assert len(lates) == 20  # the tasks did publish
    decisions = [e for i in ids for e in store.events(correlation_id=i)]
    assert [d.input.offset for d in decisions if d.input] == list(range(40))
    recorded = [o.event_id for d in decisions for o in d.outputs]
    assert len(recorded) == 40 and not lates & set(recorded)  # each its own output only
    assert {o.topic for d in decisions for o in d.outputs} == {output}


async def test_what_tasks_an_async_handler_awaits_publish_is_in_its_decision(
    stack: Endpoints, admin: object, audit_topic: str
) -> None:
    # The other side of the test above: tasks the handler awaits (gather) publish while it
    # runs, each its own task, and their outputs are the handling's.
    source, output = topics(admin, "audit-fan", partitions=1)  # type: ignore[arg-type]
    agent = Agent(unique_name("audit-fan"), middleware=[Audit()])

    async def one(ctx: Context, ping: Ping, n: int) -> None:
        await asyncio.sleep(0.01 * (3 - n))  # they finish out of order
        await ctx.publish(output, Pong(id=f"{ping.id}-{n}", key=ping.key, seq=n, handled_by="t"))

    @agent.on(source, Ping)
    async def fan_out(ping: Ping, ctx: Context) -> None:
        await asyncio.gather(*(asyncio.create_task(one(ctx, ping, n)) for n in range(3)))

    async with running([agent]):
        ids = await publish(source, pings(10, keys=1))
        store = await projected(audit_topic, lambda s: s.count() >= 10)
    published: dict[str, str] = {}
    for *_, headers in _all(output):
        published[headers["ce_id"].decode()] = headers["ce_causationid"].decode()
    assert len(published) == 30
    for i in ids:
        [decision] = store.events(correlation_id=i)
        recorded = {o.event_id for o in decision.outputs}
        assert recorded == {out for out, cause in published.items() if cause == i}
        assert len(recorded) == 3


def _headers_of(topic: str) -> list[tuple[int, int, bytes | None, str]]:
    """(partition, offset, key, ce_id) of every record of `topic`."""
    return [(p, o, k, headers["ce_id"].decode()) for p, o, k, _, headers in _all(topic)]


async def test_an_undecodable_record_is_audited_as_dead_lettered_with_its_reason(
    stack: Endpoints, admin: object, audit_topic: str
) -> None:
    source, output = topics(admin, "audit-bad")  # type: ignore[arg-type]
    name = unique_name("audit-bad")
    agent = Agent(name, version="3.1", middleware=[Audit()])

    @agent.on(source, Ping, output=output)
    def relay(ping: Ping, ctx: Context) -> Pong:
        return Pong(id=ping.id, key=ping.key, seq=ping.seq, handled_by=ctx.agent)

    garbage = b"\x00\x00\x00\xff\xffnot avro at all"  # a schema id the registry never issued
    async with running([agent]):
        producer = Producer(connection_settings("producer"))
        producer.produce(source, garbage, key=b"k", headers=[("ce_id", b"bad-1"),
                         ("ce_type", b"tests.Ping"), ("ce_correlationid", b"tree-9")])  # fmt: skip
        assert producer.flush(30) == 0
        [good] = await publish(source, pings(1))

        def decided(store: AuditStore) -> bool:
            return bool(store.events(correlation_id="tree-9")) and bool(
                store.events(correlation_id=good)
            )

        store = await projected(audit_topic, decided)
    [dead] = store.events(correlation_id="tree-9")
    assert (dead.kind, dead.outcome, dead.attempt) == ("decision", "dead-lettered", 0)
    assert (dead.decision_id, dead.agent, dead.agent_version) == (f"{name}/bad-1", name, "3.1")
    assert dead.input is not None and dead.input.event_id == "bad-1"
    assert dead.input.type == "tests.Ping" and dead.input.topic == source
    [where] = [(p, o) for p, o, _, ce_id in _headers_of(source) if ce_id == "bad-1"]
    assert (dead.input.partition, dead.input.offset) == where
    assert dead.error is not None and dead.error.dead_letter_topic == f"hivebus.dlq.{name}"
    assert dead.error.type and dead.error.message
    assert dead.outputs == []
    # The record itself is in the dead-letter topic, bytes untouched; the good one went on.
    [letter] = [v for _, _, _, v in raw_records(f"hivebus.dlq.{name}")]
    assert letter == garbage
    [fine] = [e for e in store.events(correlation_id=good) if e.kind == "decision"]
    assert fine.outcome == "ok" and [o.topic for o in fine.outputs] == [output]


async def test_an_output_the_broker_refuses_after_the_handling_is_audited_as_dead_lettered(
    stack: Endpoints, admin: Any, audit_topic: str
) -> None:
    # The output topic takes records of 2,000 bytes at most; the producer's own limit is far
    # higher, so a big output leaves, the broker refuses it, and the record is dead-lettered
    # when its acknowledgements settle: after its handling's decision said "ok".
    name = unique_name("audit-refused")
    source, output = f"{name}.in", f"{name}.out"
    for topic, config in ((source, {}), (output, {"max.message.bytes": "2000"})):
        admin.create_topics([NewTopic(topic, 1, 1, config=config)])[topic].result(timeout=30)
    agent = Agent(name, middleware=[Audit()])

    @agent.on(source, Ping, output=output)
    def relay(ping: Ping, ctx: Context) -> Pong:
        filler = token_urlsafe(6000) if ping.payload else ""  # random: it does not compress
        return Pong(id=ping.id, key=ping.key, seq=ping.seq, handled_by=filler)

    async with running([agent]):
        [small] = await publish(source, [Ping(id="small", key="k", seq=0)])
        await read_events(Serde(registry_client()), output, Pong, 1, timeout_s=30)
        [big] = await publish(source, [Ping(id="big", key="k", seq=1, payload="big")])

        def decided(store: AuditStore) -> bool:
            found = [e for e in store.events(correlation_id=big) if e.kind == "decision"]
            return bool(found) and found[0].outcome == "dead-lettered"

        store = await projected(audit_topic, decided)
    [dead] = [e for e in store.events(correlation_id=big) if e.kind == "decision"]
    assert dead.decision_id == f"{name}/{big}" and dead.attempt == 1
    assert dead.error is not None and dead.error.type == "MSG_SIZE_TOO_LARGE"
    assert dead.error.dead_letter_topic == f"hivebus.dlq.{name}"
    assert [o.topic for o in dead.outputs] == [output]  # what it tried to publish
    assert dead.input is not None and dead.input.type == Ping.fullname
    [letter] = [v for _, _, _, v in raw_records(f"hivebus.dlq.{name}")]
    [sent] = [v for _, _, _, v in raw_records(source)][1:]
    assert letter == sent  # the original bytes
    [fine] = [e for e in store.events(correlation_id=small) if e.kind == "decision"]
    assert fine.outcome == "ok" and fine.error is None
    stats = {s.agent: s for s in store.agent_stats()}[name]
    assert (stats.decisions, stats.dead_lettered) == (2, 1)


async def test_sampling_zero_writes_nothing(stack: Endpoints, admin: object) -> None:
    source, output = topics(admin, "audit-none")  # type: ignore[arg-type]
    topic = unique_name("audit-none")
    agent = Agent(unique_name("audit-none"), middleware=[Audit(sample=0.0, topic=topic)])

    @agent.on(source, Ping, output=output)
    def relay(ping: Ping, ctx: Context) -> Pong:
        return Pong(id=ping.id, key=ping.key, seq=ping.seq, handled_by=ctx.agent)

    async with running([agent]):
        await publish(source, pings(20))
        got = await read_events(Serde(registry_client()), output, Pong, 20, timeout_s=60)
    assert len(got) == 20  # the agent worked
    assert raw_records(topic) == [] and raw_records(f"{topic}.blobs") == []  # created, empty


async def test_a_durable_run_audits_each_step_keyed_by_its_run_in_its_transaction(
    stack: Endpoints, admin: object, audit_topic: str
) -> None:
    source, output = topics(admin, "audit-durable")  # type: ignore[arg-type]
    name = unique_name("audit-durable")
    agent = Agent(name, durable=True, guarantee="exactly_once", middleware=[Audit()])

    def tool(label: str) -> dict[str, str]:
        return {"tool": label}

    @agent.on(source, Ping, output=output)
    async def handle(ping: Ping, ctx: Context) -> Pong:
        first = await ctx.step("search", tool, "search")
        second = await ctx.step("scrape", tool, f"scrape {first['tool']}")
        return Pong(id=ping.id, key=ping.key, seq=ping.seq, handled_by=second["tool"])

    async with running([agent]):
        [event_id] = await publish(source, pings(1))
        store = await projected(
            audit_topic, lambda s: any(e.kind == "decision" for e in s.timeline(event_id))
        )
    events = store.timeline(event_id)  # the run id is the starting event's id
    assert [(e.kind, e.step.name if e.step else None) for e in events] == [
        ("step", "search"),
        ("step", "scrape"),
        ("decision", None),
    ]
    decision = events[-1]
    assert decision.agent == name and decision.run_id == event_id
    assert decision.outcome == "completed"
    assert decision.input is not None and decision.input.event_id == event_id
    assert decision.input.topic == source
    assert [o.topic for o in decision.outputs] == [output]  # not its own journal write
    assert [(e.step.position, e.step.durable) for e in events[:2] if e.step] == [
        (0, True),
        (1, True),
    ]
    keys = {r[2] for r in raw_records(audit_topic)}
    assert keys == {event_id.encode()}  # keyed by the run

    seen = hivebus("history", "at", event_id, "--step", "1", "--json")
    assert seen.returncode == 0, seen.stderr
    snapshot = json.loads(seen.stdout)
    assert snapshot["run_id"] == event_id and snapshot["input_source"] == "journal"
    assert snapshot["input"]["id"] == "p0"
    assert [(s["number"], s["name"], s["result"]) for s in snapshot["steps"]] == [
        (1, "search", {"tool": "search"})
    ]
    assert snapshot["total_steps"] == 2
    text = hivebus("history", "at", event_id, "--step", "2")
    assert "scrape" in text.stdout and "search" in text.stdout, text.stdout + text.stderr
