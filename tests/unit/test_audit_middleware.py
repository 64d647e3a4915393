"""The audit middleware on the runtime's own chain (AgentHarness: no broker, no registry)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from hivebus import Agent, Audit, Context, Retry, Tracing
from hivebus.audit.expand import events_of
from hivebus.audit.records import AuditBatch, AuditEvent
from hivebus.llm import LLM, LLMRequestError
from hivebus.llm.provider import ChatRequest, Reply
from hivebus.runtime import metrics
from hivebus.runtime.loader import import_file, load_agents
from hivebus.runtime.middlewares import DeadLettering, NonRetryableError, Retrying
from hivebus.runtime.middlewares.standard import standard_chain
from hivebus.testing import AgentHarness
from tests.integration.runtime_contracts import Ping, Pong

AGENTS = Path(__file__).parents[2] / "agents"


def audited(harness: AgentHarness) -> list[AuditEvent]:
    """Every audit event the agent wrote so far, in order."""
    return [
        event
        for topic, value, _, _ in harness.outbox.encoded
        if not topic.endswith(".blobs")
        for event in events_of(harness.serde.decode(value, AuditBatch))
    ]


def relay(middleware: list[object], **options: object) -> Agent:
    agent = Agent("relay", middleware=middleware, **options)  # type: ignore[arg-type]

    @agent.on("pings", Ping, output="pongs")
    def handle(ping: Ping, ctx: Context) -> Pong:
        if ping.payload == "refuse":
            raise NonRetryableError("refused")
        return Pong(id=ping.id, key=ping.key, seq=ping.seq, handled_by="relay")

    return agent


def test_the_audit_wraps_dead_lettering_and_the_rest_of_the_chain() -> None:
    audit = Audit()
    agent = relay([audit])
    chain = standard_chain(agent, None, metrics.AgentStats("relay"), None)  # type: ignore[arg-type]
    assert chain[0] is audit and isinstance(chain[1], DeadLettering)
    assert isinstance(chain[2], Retrying)


async def test_the_seed_agents_record_decisions_steps_and_llm_calls() -> None:
    [fraud] = load_agents(str(AGENTS / "fraud.py"))
    [compliance] = load_agents(str(AGENTS / "compliance.py"))
    contracts = import_file((AGENTS / "contracts.py").resolve())
    tx = contracts.Transaction(id="t1", account="acct-1234", amount=2500.0, currency="EUR",
                               channel="card", country="IR", merchant="Casino")  # fmt: skip
    async with AgentHarness(fraud) as h:
        sent = await h.send("transactions.card", tx, key="acct-1234")
    [flag] = sent.published
    score, decided = audited(h)
    assert (score.kind, score.step and score.step.name) == ("step", "score")
    assert decided.kind == "decision" and decided.input is not None
    assert decided.input.event_id == sent.event_id and decided.correlation_id == sent.event_id
    assert [o.event_id for o in decided.outputs] == [flag.meta.id]
    assert '"account":"[redacted]"' in (decided.input.payload or "")
    async with AgentHarness(compliance) as h2:
        await h2.send("transactions.flagged", flag.record, key="acct-1234", headers=flag.headers)
    call, rationale, decision = audited(h2)
    assert rationale.step is not None and rationale.step.llm_requests == 1
    assert call.kind == "llm" and call.llm is not None and call.llm.step == "rationale"
    assert decision.input is not None and decision.input.causation_id == sent.event_id
    assert decision.correlation_id == sent.event_id  # the same tree as fraud's decision
    blobs = [value for topic, value, _, _ in h2.outbox.encoded if topic.endswith(".blobs")]
    assert len(blobs) == 2 and not [b for b in blobs if b"acct-1234" in b]


async def test_a_sync_handler_is_audited_and_a_dead_letter_says_why() -> None:
    async with AgentHarness(relay([Audit()])) as h:
        await h.send("pings", Ping(id="p1", key="k", seq=0, payload=""), key="k")
        refused = await h.send("pings", Ping(id="p2", key="k", seq=1, payload="refuse"), key="k")
    ok, dead = audited(h)
    assert (ok.outcome, len(ok.outputs), ok.error) == ("ok", 1, None)
    assert refused.dead_letter is not None
    assert dead.outcome == "dead-lettered" and dead.outputs == []
    assert dead.error is not None and dead.error.type == "NonRetryableError"
    assert dead.error.dead_letter_topic == "hivebus.dlq.relay"


async def test_sampling_keeps_or_drops_a_tree_by_its_correlation_in_every_agent() -> None:
    first, second = relay([Audit(sample=0.5)]), replace(relay([Audit(sample=0.5)]), name="b")
    async with AgentHarness(first) as h1, AgentHarness(second) as h2:
        for i in range(40):
            headers = {"ce_id": f"id-{i}", "ce_correlationid": f"tree-{i}"}
            ping = Ping(id=f"p{i}", key="k", seq=i, payload="")
            await h1.send("pings", ping, key="k", headers=headers)
            await h2.send("pings", ping, key="k", headers={**headers, "ce_id": f"other-{i}"})
    kept_first = {e.correlation_id for e in audited(h1)}
    assert kept_first == {e.correlation_id for e in audited(h2)}
    assert 5 < len(kept_first) < 35
    async with AgentHarness(relay([Audit(sample=0.0)])) as h3:
        await h3.send("pings", Ping(id="p", key="k", seq=0, payload=""), key="k")
    assert h3.outbox.encoded == [] and len(h3.published) == 1


class Refusing:
    """A provider whose server is down."""

    async def chat(self, request: ChatRequest) -> Reply:
        raise LLMRequestError("the server said 503")

    async def aclose(self) -> None:
        return None


async def test_a_failed_llm_call_and_its_failed_step_are_recorded() -> None:
    agent = Agent("asker", retry=Retry(attempts=1), middleware=[Audit()])

    @agent.on("pings", Ping, output="pongs")
    async def ask(ping: Ping, ctx: Context) -> Pong:
        await ctx.step("ask", ctx.llm.complete, f"about {ping.payload}")
        return Pong(id=ping.id, key=ping.key, seq=ping.seq, handled_by="asker")

    async with AgentHarness(agent, llm=LLM(Refusing(), model="m")) as h:
        await h.send("pings", Ping(id="p", key="k", seq=0, payload="x"), key="k")
    call, step, decision = audited(h)
    assert (call.kind, call.outcome, call.llm and call.llm.model) == ("llm", "failed", "m")
    assert call.error is not None and call.error.type == "LLMRequestError"
    assert (step.kind, step.outcome) == ("step", "failed")
    assert decision.outcome == "dead-lettered" and decision.error is not None


async def test_tracing_listed_before_the_audit_runs_inside_it_and_both_hear_a_dead_letter() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing, audit = Tracing(provider=provider), Audit()
    agent = relay([tracing, audit])  # the order a user may well write
    chain = standard_chain(agent, None, metrics.AgentStats("relay"), None)  # type: ignore[arg-type]
    assert chain[:2] == [audit, tracing] and isinstance(chain[2], DeadLettering)
    async with AgentHarness(agent) as h:
        await h.send("pings", Ping(id="p1", key="k", seq=0, payload="refuse"), key="k")
    [decision] = audited(h)
    assert decision.outcome == "dead-lettered" and decision.error is not None
    [span] = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["hivebus.dead_letter.topic"] == "hivebus.dlq.relay"
