"""AgentHarness: an agent's handlers driven in-process through the runtime's own executor and
middleware chain, with outputs and dead letters kept in memory (no broker, no registry)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from hivebus import Agent, Context, Retry
from hivebus.llm import LLM, LLMSettings
from hivebus.runtime.job import JobState
from hivebus.runtime.loader import import_file, load_agents
from hivebus.runtime.middleware import Call, Next
from hivebus.runtime.middlewares import NonRetryableError
from hivebus.runtime.middlewares.standard import standard_chain
from hivebus.testing import AgentHarness, NotSubscribed
from tests.integration.runtime_contracts import Ping, Pong

AGENTS = Path(__file__).resolve().parents[2] / "agents"


def relay(name: str = "relay", **options: Any) -> Agent:
    agent = Agent(name, **options)

    @agent.on("pings", Ping, output="pongs")
    async def pong(ping: Ping, ctx: Context) -> Pong:
        return Pong(id=ping.id, key=ping.key, seq=ping.seq, handled_by=ctx.agent)

    return agent


def ping(seq: int = 1) -> Ping:
    return Ping(id=f"p-{seq}", key="k", seq=seq)


async def test_a_returned_record_is_published_to_the_output_keyed_like_the_input() -> None:
    async with AgentHarness(relay()) as h:
        result = await h.send("pings", ping(7), key="acct-1")

    assert result.state is JobState.DONE
    assert (result.handler, result.attempts, result.dead_letter) == ("pong", 1, None)
    [out] = result.published
    assert (out.topic, out.key) == ("pongs", "acct-1")
    assert out.record == Pong(id="p-7", key="k", seq=7, handled_by="relay")
    assert out.meta.type == "test.runtime.Pong"
    assert out.meta.source == "hivebus://agents/relay"
    assert h.published == [out]


async def test_ctx_publish_sends_to_any_topic_with_its_own_key_or_the_inputs() -> None:
    agent = Agent("fanout")

    @agent.on("pings", Ping)
    async def fan(ping: Ping, ctx: Context) -> None:
        await ctx.publish("audit", Pong(id=ping.id, key=ping.key, seq=ping.seq), key="other")
        await ctx.publish("mirror", Pong(id=ping.id, key=ping.key, seq=ping.seq))

    async with AgentHarness(agent) as h:
        result = await h.send("pings", ping(), key="acct-1")

    assert [(p.topic, p.key) for p in result.published] == [
        ("audit", "other"),
        ("mirror", "acct-1"),
    ]


async def test_a_flaky_handler_is_retried_until_it_succeeds() -> None:
    agent = Agent("flaky", retry=Retry(attempts=3))
    seen: list[int] = []

    @agent.on("pings", Ping, output="pongs")
    async def handle(ping: Ping, ctx: Context) -> Pong:
        seen.append(ctx.attempt)
        if ctx.attempt < 3:
            raise ConnectionError("upstream down")
        return Pong(id=ping.id, key=ping.key, seq=ping.seq)

    async with AgentHarness(agent, fast_retries=True) as h:
        result = await h.send("pings", ping())

    assert seen == [1, 2, 3]
    assert (result.attempts, len(result.published), result.dead_letter) == (3, 1, None)
    assert result.state is JobState.DONE


async def test_what_a_failed_attempt_published_stays_published_as_in_kafka() -> None:
    agent = Agent("eager", retry=Retry(attempts=2))

    @agent.on("pings", Ping)
    async def handle(ping: Ping, ctx: Context) -> None:
        await ctx.publish("progress", Pong(id=ping.id, key=ping.key, seq=ctx.attempt))
        if ctx.attempt == 1:
            raise ConnectionError("lost the reply")

    async with AgentHarness(agent, fast_retries=True) as h:
        result = await h.send("pings", ping())

    assert [p.record for p in result.published] == [
        Pong(id="p-1", key="k", seq=1),
        Pong(id="p-1", key="k", seq=2),
    ]  # at least once: consumers of "progress" see both


async def test_a_send_given_up_on_cancels_the_handler() -> None:
    cancelled = asyncio.Event()
    agent = Agent("stuck")

    @agent.on("pings", Ping)
    async def handle(ping: Ping, ctx: Context) -> None:
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async with AgentHarness(agent) as h:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(h.send("pings", ping()), 0.05)
        await asyncio.wait_for(cancelled.wait(), 1)
    assert h.results == [] and h.dead_letters == []


async def test_retries_wait_the_agents_backoff_unless_fast_retries_is_asked_for() -> None:
    agent = Agent("slow", retry=Retry(attempts=3, backoff_s=0.05))

    @agent.on("pings", Ping)
    async def fail(ping: Ping, ctx: Context) -> None:
        raise ConnectionError("down")

    for fast, least, most in ((False, 0.15, 5.0), (True, 0.0, 0.1)):
        started = time.perf_counter()
        async with AgentHarness(agent, fast_retries=fast) as h:
            result = await h.send("pings", ping())
        assert least <= time.perf_counter() - started < most  # 0.05 + 0.1 s of backoff
        assert result.attempts == 3
    assert agent.retry.backoff_s == 0.05  # the agent itself is untouched


async def test_a_handler_that_always_fails_is_dead_lettered_after_its_last_attempt() -> None:
    agent = Agent("broken", retry=Retry(attempts=4))

    @agent.on("pings", Ping, output="pongs")
    async def handle(ping: Ping, ctx: Context) -> Pong:
        raise ValueError(f"cannot handle {ping.id}")

    async with AgentHarness(agent, fast_retries=True) as h:
        result = await h.send("pings", ping(3), key="acct-9")

    assert result.state is JobState.DEAD_LETTERED
    assert result.published == []
    letter = result.dead_letter
    assert letter is not None
    assert (letter.kind, letter.error_type, letter.message) == (
        "handler",
        "ValueError",
        "cannot handle p-3",
    )
    assert (letter.attempts, result.attempts) == (4, 4)
    assert (letter.topic, letter.key, letter.event) == ("pings", "acct-9", ping(3))
    assert letter.headers["hivebus_error_type"] == "ValueError"
    assert letter.headers["hivebus_error_agent"] == "broken"
    assert letter.headers["ce_type"] == "test.runtime.Ping"  # the original headers are kept
    assert h.dead_letters == [letter]


async def test_a_non_retryable_error_dead_letters_after_one_attempt() -> None:
    agent = Agent("strict", retry=Retry(attempts=5))

    @agent.on("pings", Ping)
    async def handle(ping: Ping, ctx: Context) -> None:
        raise NonRetryableError("malformed order")

    async with AgentHarness(agent, fast_retries=True) as h:
        result = await h.send("pings", ping())

    assert result.attempts == 1
    assert result.dead_letter is not None
    assert (result.dead_letter.error_type, result.dead_letter.attempts) == ("NonRetryableError", 1)


async def test_the_agents_middleware_wraps_all_attempts_inside_dead_lettering() -> None:
    seen: list[tuple[str, int, str]] = []

    async def audit(call: Call, call_next: Next) -> None:
        seen.append(("before", call.attempt, call.handler.fn.__name__))
        try:
            await call_next(call)
        except Exception as error:
            seen.append(("raised " + type(error).__name__, call.attempt, ""))
            raise
        seen.append(("after", call.attempt, ""))

    agent = Agent("audited", retry=Retry(attempts=3), middleware=[audit])

    @agent.on("pings", Ping)
    async def handle(ping: Ping, ctx: Context) -> None:
        if ping.seq == 2 or ctx.attempt < 3:
            raise KeyError(ping.seq)

    async with AgentHarness(agent, fast_retries=True) as h:
        ok = await h.send("pings", ping(1))
        failed = await h.send("pings", ping(2))

    assert seen == [
        ("before", 1, "handle"), ("after", 3, ""),
        ("before", 1, "handle"), ("raised KeyError", 3, ""),
    ]  # fmt: skip
    assert ok.dead_letter is None
    assert failed.dead_letter is not None and failed.dead_letter.attempts == 3


async def test_a_record_returned_without_an_output_topic_is_a_handler_error() -> None:
    agent = Agent("lost", retry=Retry(attempts=2))

    @agent.on("pings", Ping)
    async def handle(ping: Ping, ctx: Context) -> Pong:
        return Pong(id=ping.id, key=ping.key, seq=ping.seq)

    async with AgentHarness(agent, fast_retries=True) as h:
        result = await h.send("pings", ping())

    assert result.published == []
    assert result.dead_letter is not None
    assert result.dead_letter.error_type == "HandlerOutputError"
    assert "declares no output topic" in result.dead_letter.message


async def test_an_event_type_without_a_handler_is_skipped_and_a_foreign_topic_refused() -> None:
    async with AgentHarness(relay()) as h:
        result = await h.send("pings", Pong(id="x", key="k", seq=1))
        with pytest.raises(NotSubscribed, match="does not subscribe to pongz"):
            await h.send("pongz", ping())

    assert result.skipped
    assert (result.state, result.handler, result.attempts) == (JobState.DONE, None, 0)
    assert result.published == [] and result.dead_letter is None


async def test_outputs_are_linked_to_their_cause_by_lineage_headers() -> None:
    async with AgentHarness(relay()) as h:
        first = await h.send("pings", ping(1))
        given = {"ce_id": "evt-42", "ce_correlationid": "order-7"}
        second = await h.send("pings", ping(2), headers=given)
        third = await h.send("pings", ping(3), headers=[("trace", b"x")])

    assert first.event_id is not None
    meta = first.published[0].meta
    assert (meta.causation_id, meta.correlation_id) == (first.event_id, first.event_id)
    meta = second.published[0].meta
    assert (meta.causation_id, meta.correlation_id) == ("evt-42", "order-7")
    # No ce_id on the input: the cause is where the record sits, as in the runtime.
    meta = third.published[0].meta
    assert third.event_id is None
    assert (meta.causation_id, meta.correlation_id) == ("pings/0/2", "pings/0/2")


async def test_an_output_the_wire_cannot_carry_fails_like_in_production() -> None:
    agent = Agent("overflow", retry=Retry(attempts=1))

    @agent.on("pings", Ping, output="pongs")
    async def handle(ping: Ping, ctx: Context) -> Pong:
        return Pong(id=ping.id, key=ping.key, seq=2**70)  # pydantic allows it, Avro int not

    async with AgentHarness(agent) as h:
        checked = await h.send("pings", ping())
    async with AgentHarness(agent, round_trip=False) as h:
        unchecked = await h.send("pings", ping())

    assert checked.dead_letter is not None and checked.published == []
    assert checked.dead_letter.error_type == "OverflowError"
    assert unchecked.dead_letter is None and len(unchecked.published) == 1


async def test_a_slow_handler_times_out_as_the_agent_declares() -> None:
    agent = Agent("sleepy", retry=Retry(attempts=2), handler_timeout_s=0.02)

    @agent.on("pings", Ping)
    async def handle(ping: Ping, ctx: Context) -> None:
        await asyncio.sleep(5)

    async with AgentHarness(agent, fast_retries=True) as h:
        result = await h.send("pings", ping())

    assert result.dead_letter is not None
    assert (result.dead_letter.error_type, result.attempts) == ("TimeoutError", 2)


async def test_plain_def_handlers_and_ctx_llm_offline_by_default_or_the_one_given() -> None:
    agent = Agent("writer")

    @agent.on("pings", Ping, output="pongs")
    async def write(ping: Ping, ctx: Context) -> Pong:
        reply = await ctx.llm.complete(f"describe ping {ping.id}")
        return Pong(id=ping.id, key=ping.key, seq=ping.seq, handled_by=reply.model)

    @agent.on("pings", Pong, output="pongs")
    def echo(pong: Pong, ctx: Context) -> Pong:
        return pong

    async with AgentHarness(agent) as h:
        written = await h.send("pings", ping())
        echoed = await h.send("pings", Pong(id="e", key="k", seq=5))
    assert written.records == [Pong(id="p-1", key="k", seq=1, handled_by="offline")]
    assert h.llm.usage.requests == 1
    assert echoed.records == [Pong(id="e", key="k", seq=5)]

    mine = LLM.from_settings(LLMSettings(model="house-model"))
    async with AgentHarness(agent, llm=mine) as h:
        await h.send("pings", ping())
    assert mine.usage.requests == 1


async def test_the_chain_is_the_one_the_runner_builds() -> None:
    async def own(call: Call, call_next: Next) -> None:
        await call_next(call)

    agent = relay(middleware=[own])
    h = AgentHarness(agent)
    expected = standard_chain(agent, h.outbox, h.stats, h.log)  # type: ignore[arg-type]
    built = h._middlewares()[1:]  # after the harness's observer
    assert [type(m) for m in built] == [type(m) for m in expected]
    assert own in built
    await h.close()


async def test_the_fraud_agent_flags_a_risky_transaction_and_passes_a_normal_one() -> None:
    [fraud] = load_agents(str(AGENTS / "fraud.py"))
    contracts = import_file(AGENTS / "contracts.py")  # the module the agent imported
    tx = {"account": "acct-1", "currency": "EUR", "channel": "card", "device_id": "d-1"}

    async with AgentHarness(fraud) as h:
        risky = await h.send(
            "transactions.card",
            contracts.Transaction(
                id="t1", amount=2500.0, country="IR", merchant="Casino Royal", **tx
            ),
            key="acct-1",
        )
        normal = await h.send(
            "transactions.card",
            contracts.Transaction(id="t2", amount=42.0, country="FR", merchant="Bakery", **tx),
            key="acct-1",
        )
        # An older producer's v1 record decodes into v2 (device_id None), as on the wire.
        old = await h.send(
            "transactions.card",
            contracts.TransactionV1(
                id="t3", account="acct-2", amount=600.0, currency="EUR", channel="card",
                country="SY", merchant="Casino Kiosk",
            ),
            key="acct-2",
        )  # fmt: skip

    [flagged] = risky.published
    assert (flagged.topic, flagged.key) == ("transactions.flagged", "acct-1")
    assert isinstance(flagged.record, contracts.FlaggedTransaction)
    assert flagged.record.tx_id == "t1"
    assert flagged.record.risk >= 0.7
    assert flagged.meta.causation_id == risky.event_id
    assert normal.published == [] and normal.dead_letter is None
    [flagged_old] = old.published
    assert isinstance(flagged_old.record, contracts.FlaggedTransaction)
    assert "card payment from an unknown device" in flagged_old.record.reasons
