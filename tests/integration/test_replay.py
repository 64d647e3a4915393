"""Replay on a real broker and registry (issue 13, item 4): history through a new version of
the seed fraud agent into shadow topics, the diff against the live outputs, and catch-up.

Each test copies agents/fraud.py under its own agent name and topics (the broker is shared),
runs the copy live to make history, then replays with a second copy whose rule differs.
"""

from __future__ import annotations

import asyncio
import io
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient

from hivebus import Publisher
from hivebus.contracts import Serde, registry_client
from hivebus.dev import Endpoints
from hivebus.errors import ConfigError
from hivebus.replay import RecordedReply, ReplayOptions, replay
from hivebus.runtime.loader import load_agents
from hivebus.testing.reader import read_events
from hivebus.testing.worker import running
from tests.integration.replay_support import (
    CONTRACTS,
    SHIM,
    TOOL_AGENT,
    World,
    expected_output,
    group_offsets,
    live_ends,
    new_world,
    publish,
    transactions,
    written_between,
)
from tests.integration.runtime_support import hivebus

# The one rule that changes: Venezuela is no longer high-risk, Nigeria is.
COUNTRY_RULE = (
    'HIGH_RISK_COUNTRIES = {"KP", "IR", "SY", "RU", "VE"}',
    'HIGH_RISK_COUNTRIES = {"KP", "IR", "SY", "RU", "NG"}',
)


async def make_history(world: World, admin: AdminClient, count: int) -> tuple[
    Path, dict[str, Any], int, int
]:  # fmt: skip
    """Publish `count` transactions, let the live (v1) agent handle them all, stop it."""
    world.create_topics(admin)
    v1 = world.write_agent("fraud_v1")
    contracts = world.module(CONTRACTS)
    txs = transactions(contracts, count)
    start_ms = time.time_ns() // 1_000_000 - 1
    by_id = await publish(world, txs)
    end_ms = time.time_ns() // 1_000_000 + 1
    flagged = sum(expected_output(world.module(v1), tx) is not None for tx in txs)
    async with running(load_agents(str(v1))):
        got = await read_events(
            Serde(registry_client()), world.flagged, contracts.FlaggedTransaction, flagged,
            timeout_s=120,
        )  # fmt: skip
    assert len(got) == flagged
    return v1, by_id, start_ms, end_ms


def expected_diff(v1: Any, v2: Any, by_id: dict[str, Any]) -> dict[str, set[str]]:
    """Which transactions' outputs are same, changed, new and missing, from the rules alone."""
    kinds: dict[str, set[str]] = {"same": set(), "changed": set(), "new": set(), "missing": set()}
    for tx in by_id.values():
        old, new = expected_output(v1, tx), expected_output(v2, tx)
        if old is None and new is None:
            continue
        kind = "new" if old is None else "missing" if new is None else "same"
        if kind == "same" and old != new:
            kind = "changed"
        kinds[kind].add(tx.id)
    return kinds


async def test_replay_of_1000_transactions_names_exactly_the_changed_flags(
    stack: Endpoints, admin: AdminClient, tmp_path: Path
) -> None:
    world = new_world(tmp_path)
    v1_path, by_id, start_ms, end_ms = await make_history(world, admin, 1000)
    v2_path = world.write_agent("fraud_v2", rule=COUNTRY_RULE)
    v1, v2 = world.module(v1_path), world.module(v2_path)
    expected = expected_diff(v1, v2, by_id)
    assert all(expected.values()), expected  # the rule changes flags both ways, and risks
    ends_before, group_before = live_ends(admin), group_offsets(admin, world.name)
    assert sum(group_before.values()) >= 1000  # the live agent committed its work

    began = time.monotonic()
    done = await asyncio.to_thread(
        hivebus, "replay", "--agent", world.name, "--from", str(start_ms), "--to", str(end_ms),
        "--with", str(v2_path), "--json", str(tmp_path / "report.json"), timeout=180,
    )  # fmt: skip
    took = time.monotonic() - began
    assert done.returncode == 0, done.stderr
    print(f"\nreplay of 1,000 records: {took:.1f} s (CLI, start to exit)\n{done.stdout}")

    # Nothing reached a live topic, and the live group's offsets did not move.
    ends_after, group_after = live_ends(admin), group_offsets(admin, world.name)
    source = f"hivebus://agents/{world.name}"
    leaked = [
        (where, headers) for where, key, headers in written_between(ends_before, ends_after)
        if headers.get("ce_source") == source or headers.get("ce_causationid") in by_id
        or where[0].startswith(world.prefix) or key == world.name.encode()
    ]  # fmt: skip
    assert leaked == []
    assert group_after == group_before
    report = json.loads((tmp_path / "report.json").read_text())
    groups = [g.group_id for g in admin.list_consumer_groups().result(timeout=30).valid]
    assert not [g for g in groups if report["replay_id"] in g or "replay-reader" in g]

    # The diff names exactly the transactions the rule change affects, each as it should.
    assert report["inputs"]["handled"] == 1000 and report["inputs"]["dead_lettered"] == 0
    found: dict[str, set[str]] = {kind: set() for kind in expected}
    for entry in report["entries"]:
        found[entry["kind"]].add(by_id[entry["input"]["id"]].id)
        tx = by_id[entry["input"]["id"]]
        if entry["new"] is not None:
            assert entry["new"]["value"] == expected_output(v2, tx)
            assert entry["new"]["where"].startswith(f"hivebus.shadow.{report['replay_id']}.")
        if entry["old"] is not None:
            assert entry["old"]["value"] == expected_output(v1, tx)
    assert found == expected
    flag_changed = {
        tx.id for tx in by_id.values()
        if (expected_output(v1, tx) is None) != (expected_output(v2, tx) is None)
    }  # fmt: skip
    assert found["new"] | found["missing"] == flag_changed
    for entry in report["entries"]:
        if entry["kind"] == "changed":
            paths = {c["path"] for c in entry["changes"]}
            assert paths and all(p == "risk" or p.startswith("reasons[") for p in paths)
    counts = {kind: len(ids) for kind, ids in expected.items()}
    assert report["outputs"] == counts
    assert ", ".join(f"{counts[k]:,} {k}" for k in counts) in done.stdout
    shadow = f"hivebus.shadow.{report['replay_id']}."
    assert {shadow + world.flagged, shadow + f"hivebus.dlq.{world.name}"} <= set(
        report["shadow_topics"]
    )  # and the shadows of what its middleware writes (the audit's topics)
    assert all(topic.startswith(shadow) for topic in report["shadow_topics"])

    dropped = hivebus("replay", "drop", report["replay_id"])
    assert dropped.returncode == 0, dropped.stderr
    assert f"{len(report['shadow_topics'])} topic(s)" in dropped.stdout
    left = admin.list_topics(timeout=10).topics
    assert not [t for t in left if t.startswith(f"hivebus.shadow.{report['replay_id']}.")]


async def test_a_sync_handler_replays_in_process(
    stack: Endpoints, admin: AdminClient, tmp_path: Path
) -> None:
    world = new_world(tmp_path)
    v1_path, by_id, start_ms, end_ms = await make_history(world, admin, 120)
    v2_path = world.write_agent("fraud_sync", rule=("FLAG_AT = 0.7", "FLAG_AT = 0.5"), sync=True)
    expected = expected_diff(world.module(v1_path), world.module(v2_path), by_id)
    out = io.StringIO()
    report = await replay(
        ReplayOptions(world.name, str(v2_path), start_ms, end_ms, drop_shadow=True), out=out
    )
    found = {kind: {by_id[e.input.id].id for e in report.diff.of(kind)} for kind in expected}
    assert found == expected and expected["new"] and not expected["missing"]
    assert report.dropped and len(report.inputs_by("handled")) == 120
    assert "replaying [" in out.getvalue() and "120/120 (100%)" in out.getvalue()


LLM_AGENT = """
from hivebus import Agent, Audit, Context
from .contracts import FlaggedTransaction, Transaction

agent = Agent("{name}", middleware=[Audit()])

@agent.on("{topic}", Transaction, output="{flagged}")
async def explain(tx: Transaction, ctx: Context) -> FlaggedTransaction:
    answer = await ctx.llm.complete(f"{prompt}")
    return FlaggedTransaction(
        tx_id=tx.id, account=tx.account, amount=tx.amount, currency=tx.currency,
        channel=tx.channel, risk=0.5, reasons=[answer.text],
    )
"""


class Recorded:
    """Recorded answers handed over directly (the `RecordedCalls` interface): one per input."""

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers
        self.asked: list[tuple[str, str, int]] = []

    def lookup(self, agent: str, input_id: str, index: int) -> RecordedReply | None:
        self.asked.append((agent, input_id, index))
        text = self.answers.get(input_id)
        return RecordedReply(text, "gpt-recorded") if text is not None and index == 0 else None


async def test_llm_calls_are_answered_from_the_audit_s_record_when_asked(
    stack: Endpoints, admin: AdminClient, tmp_path: Path
) -> None:
    world = new_world(tmp_path)
    world.create_topics(admin)
    (tmp_path / "contracts.py").write_text(SHIM)
    names = {"name": world.name, "topic": world.card, "flagged": world.flagged}
    v1, v2 = tmp_path / "explainer_v1.py", tmp_path / "explainer_v2.py"
    v1.write_text(LLM_AGENT.format(**names, prompt="Is {tx.id} risky?"))
    v2.write_text(LLM_AGENT.format(**names, prompt="Assess {tx.id} for risk."))  # a new prompt
    contracts = world.module(CONTRACTS)
    txs = [tx for tx in transactions(contracts, 40) if tx.channel == "card"]
    start_ms = time.time_ns() // 1_000_000 - 1
    by_id = await publish(world, txs)
    async with running(load_agents(str(v1))):  # live and audited: the offline model answers
        await read_events(Serde(registry_client()), world.flagged,
                          contracts.FlaggedTransaction, len(txs), timeout_s=60)  # fmt: skip

    # Live: the new prompt gets new answers. From the record: the answers the audit kept.
    live = await replay(
        ReplayOptions(world.name, str(v2), start_ms, drop_shadow=True), out=io.StringIO()
    )
    assert live.diff.counts["changed"] == len(txs)
    assert {c.path for e in live.diff.entries for c in e.changes} == {"reasons[0]"}
    recorded = await replay(
        ReplayOptions(world.name, str(v2), start_ms, llm="record", drop_shadow=True),
        out=io.StringIO(),
    )  # fmt: skip
    assert recorded.diff.counts == {"same": len(txs), "changed": 0, "new": 0, "missing": 0}
    assert not recorded.inputs_by("dead-lettered")

    # Any `RecordedCalls` can answer: asked once per input, by the live agent's name.
    handed = Recorded({event_id: f"recorded for {tx.id}" for event_id, tx in by_id.items()})
    report = await replay(
        ReplayOptions(world.name, str(v2), start_ms, llm="record", drop_shadow=True),
        out=io.StringIO(), recorded=handed,
    )  # fmt: skip
    assert report.diff.counts["changed"] == len(txs)
    for entry in report.diff.entries:
        [change] = entry.changes
        assert change.path == "reasons[0]" and change.old.startswith("[offline]")
        assert change.new == f"recorded for {by_id[entry.input.id].id}"
    assert sorted(handed.asked) == sorted((world.name, i, 0) for i in by_id)


async def test_tool_steps_are_served_from_the_audit_s_record_when_asked(
    stack: Endpoints, admin: AdminClient, tmp_path: Path
) -> None:
    world = new_world(tmp_path)
    world.create_topics(admin)
    (tmp_path / "contracts.py").write_text(SHIM)
    names = {"name": world.name, "topic": world.card, "flagged": world.flagged}
    calls = {v: tmp_path / f"calls_{v}.txt" for v in ("v1", "v2", "v3")}
    for version, risk, fails, extra in (
        ("v1", 0.25, True, ""),
        ("v2", 0.75, False, ""),  # the service answers otherwise now, and never fails
        ("v3", 0.75, False, 'await ctx.step("second_opinion", score, tx.id)'),
    ):  # fmt: skip
        (tmp_path / f"judge_{version}.py").write_text(TOOL_AGENT.format(
            **names, calls=str(calls[version]), risk=risk, fails=fails, service=version,
            extra=extra,
        ))  # fmt: skip
    contracts = world.module(CONTRACTS)
    txs = [tx for tx in transactions(contracts, 60) if tx.channel == "card"]
    start_ms = time.time_ns() // 1_000_000 - 1
    await publish(world, txs)
    async with running(load_agents(str(tmp_path / "judge_v1.py"))):  # live and audited
        history = await read_events(
            Serde(registry_client()), world.flagged, contracts.FlaggedTransaction, len(txs),
            timeout_s=60,
        )  # fmt: skip
    failed = {e.event.tx_id for e in history if e.event.reasons[0].startswith("unscored")}
    assert 0 < len(failed) < len(txs)  # some of the recorded steps failed, some did not
    v2, v3 = str(tmp_path / "judge_v2.py"), str(tmp_path / "judge_v3.py")

    # Live: the tool runs again and answers otherwise. From the record: what it answered then.
    live = await replay(
        ReplayOptions(world.name, v2, start_ms, drop_shadow=True), out=io.StringIO()
    )
    assert live.diff.counts["changed"] == len(txs)
    assert len(calls["v2"].read_text().split()) == len(txs)
    recorded = await replay(
        ReplayOptions(world.name, v2, start_ms, tools="record", drop_shadow=True),
        out=io.StringIO(),
    )  # fmt: skip
    assert recorded.diff.counts == {"same": len(txs), "changed": 0, "new": 0, "missing": 0}
    assert len(calls["v2"].read_text().split()) == len(txs)  # the tool was not called again
    assert recorded.tools == "record" and not recorded.inputs_by("dead-lettered")

    # A step the record does not have fails the record: dead-lettered in the shadow.
    more = await replay(
        ReplayOptions(world.name, v3, start_ms, tools="record", drop_shadow=True),
        out=io.StringIO(),
    )  # fmt: skip
    assert len(more.inputs_by("dead-lettered")) == len(txs)
    assert not calls["v3"].exists()


async def test_recorded_answers_need_an_audited_agent(
    stack: Endpoints, admin: AdminClient, tmp_path: Path
) -> None:
    world = new_world(tmp_path)
    world.create_topics(admin)
    v1 = world.write_agent("fraud_v1")
    now = time.time_ns() // 1_000_000
    needs = f"recorded LLM responses need the audit enabled on {world.name}"
    with pytest.raises(ConfigError, match=needs):
        await replay(ReplayOptions(world.name, str(v1), now, llm="record"), out=io.StringIO())


def test_catch_up_reads_history_with_progress_then_goes_on_live(
    stack: Endpoints, admin: AdminClient, tmp_path: Path
) -> None:
    world = new_world(tmp_path)
    world.create_topics(admin)
    path = world.write_agent("fraud_new")
    contracts = world.module(CONTRACTS)
    txs = transactions(contracts, 2000, seed=7)
    by_id = asyncio.run(publish(world, txs))
    flagged = sum(expected_output(world.module(path), tx) is not None for tx in txs)
    worker = subprocess.Popen(
        [sys.executable, "-m", "hivebus.cli", "run", str(path), "--catch-up",
         "--log-level", "WARNING"],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    lines: list[str] = []
    try:
        assert worker.stderr is not None
        for line in worker.stderr:
            lines.append(line.rstrip())
            if "caught up" in line or "Traceback" in line:
                break
        assert any(f"catch-up {world.name} [" in s and "/2,000 (" in s for s in lines), lines
        assert f"catch-up {world.name}: caught up, 2,000 record(s)" in lines[-1], lines
        assert "continuing live" in lines[-1]
        committed = group_offsets(admin, world.name)
        history = sum(o for (t, _), o in committed.items() if t in (world.card, world.wire))
        assert history == 2000  # every history record is committed
        risky = contracts.Transaction(
            id="tx-live", account="acct-live", amount=50_000.0, currency="EUR",
            channel="wire", country="IR", merchant="Casino",
        )  # fmt: skip

        async def live() -> int:
            async with Publisher("replay-tests") as publisher:
                await publisher.publish(world.wire, risky, key="acct-live")
            got = await read_events(
                Serde(registry_client()), world.flagged, contracts.FlaggedTransaction,
                flagged + 1, timeout_s=60,
            )  # fmt: skip
            return len(got)

        assert asyncio.run(live()) == flagged + 1  # and the live record was handled too
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=60) == 0
    assert by_id
