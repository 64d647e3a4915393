"""Replay of a durable agent on a real broker and registry: its runs executed in the shadow
with their journal in memory (hivebus/replay/durable_runs.py).

The live version is the seed fraud agent made durable, with a durable timer in every run
and a wait for a signal in the runs of the largest transactions (never signalled, so they
never complete). The replay's version changes one rule. The diff must name exactly the
transactions whose flag the rule changes, the waiting runs must be reported suspended, and
nothing may be written to a live topic (the runs and journal topics included) nor any live
group's offset move.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
import types
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from confluent_kafka.admin import AdminClient

from hivebus.contracts import Serde, registry_client
from hivebus.dev import Endpoints
from hivebus.durable import signal
from hivebus.replay import ReplayOptions, replay
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
    publish_foreign,
    transactions,
    written_between,
)
from tests.integration.runtime_support import hivebus

REVIEW_ABOVE = 15_000  # these runs wait for a signal that never comes
DURABLE = [
    ("    max_in_flight=256,\n", "    max_in_flight=256,\n    durable=True,\n"),
    (
        '    risk, reasons = await ctx.step("score", score, tx)\n',
        '    risk, reasons = await ctx.step("score", score, tx)\n'
        "    await ctx.sleep(0.2)  # a durable timer: the run is woken to go on\n"
        f"    if tx.amount > {REVIEW_ABOVE}:\n"
        '        await ctx.wait_for("reviewed")\n',
    ),
]
COUNTRY_RULE = (
    'HIGH_RISK_COUNTRIES = {"KP", "IR", "SY", "RU", "VE"}',
    'HIGH_RISK_COUNTRIES = {"KP", "IR", "SY", "RU", "NG"}',
)


def two_versions(
    folder: Path, admin: AdminClient, changes: Sequence[tuple[str, str]]
) -> tuple[World, Path, Path]:
    """A world with its topics, and the durable fraud agent with `changes` in two versions:
    as it is, and with one country rule changed."""
    world = new_world(folder)
    world.create_topics(admin)
    v1 = world.write_agent("fraud_v1", changes=changes)
    v2 = world.write_agent("fraud_v2", rule=COUNTRY_RULE, changes=changes)
    return world, v1, v2


def kinds_of(
    txs: list[Any], old: Callable[[Any], object | None], new: Callable[[Any], object | None]
) -> dict[str, set[str]]:
    """The ids of the transactions the diff must call same, changed, new and missing, from
    what each version publishes for each (None: nothing)."""
    kinds: dict[str, set[str]] = {kind: set() for kind in ("same", "changed", "new", "missing")}
    for tx in txs:
        before, after = old(tx), new(tx)
        if before is not None or after is not None:
            kind = "new" if before is None else "missing" if after is None else "same"
            kinds["changed" if kind == "same" and before != after else kind].add(tx.id)
    return kinds


def output(module: types.ModuleType, tx: Any) -> dict[str, Any] | None:
    """What a run of `module` publishes for `tx`: nothing while it waits for its review."""
    return None if tx.amount > REVIEW_ABOVE else expected_output(module, tx)


async def test_a_durable_agent_s_runs_replay_in_the_shadow_and_leave_no_trace(
    stack: Endpoints, admin: AdminClient, tmp_path: Path
) -> None:
    world, v1_path, v2_path = two_versions(tmp_path, admin, DURABLE)
    contracts, v1, v2 = world.module(CONTRACTS), world.module(v1_path), world.module(v2_path)
    txs = transactions(contracts, 300, seed=29)
    start_ms = time.time_ns() // 1_000_000 - 1
    by_id = await publish(world, txs)
    end_ms = time.time_ns() // 1_000_000 + 1
    flagged = sum(output(v1, tx) is not None for tx in txs)
    waiting = {tx.id for tx in txs if tx.amount > REVIEW_ABOVE}
    assert waiting and flagged
    async with running(load_agents(str(v1_path))):
        got = await read_events(
            Serde(registry_client()), world.flagged, contracts.FlaggedTransaction, flagged,
            timeout_s=120,
        )  # fmt: skip
    assert len(got) == flagged
    expected = kinds_of(txs, lambda tx: output(v1, tx), lambda tx: output(v2, tx))
    assert expected["new"] and expected["missing"]  # the rule changes flags both ways
    groups = [world.name, f"{world.name}.runs"]
    ends_before = live_ends(admin)
    offsets_before = {group: group_offsets(admin, group) for group in groups}
    assert all(offsets_before.values())  # the intake and the run agent committed their work

    done = await asyncio.to_thread(
        hivebus, "replay", "--agent", world.name, "--from", str(start_ms), "--to", str(end_ms),
        "--with", str(v2_path), "--json", str(tmp_path / "report.json"), timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    print(done.stdout)

    ends_after = live_ends(admin)
    leaked = [
        (where, headers) for where, key, headers in written_between(ends_before, ends_after)
        if world.name in where[0] or where[0].startswith(world.prefix)
        or headers.get("ce_causationid") in by_id or (key or b"").decode() in by_id
    ]  # fmt: skip
    assert leaked == []  # not a request, a journal, a blob or an output on a live topic
    assert {group: group_offsets(admin, group) for group in groups} == offsets_before

    report = json.loads((tmp_path / "report.json").read_text())
    inputs = report["inputs"]
    assert inputs["suspended"] == len(waiting) and inputs["dead_lettered"] == 0
    assert inputs["handled"] == len(txs) - len(waiting)
    assert f"{len(waiting):,} durable run(s) waited" in done.stdout
    found: dict[str, set[str]] = {kind: set() for kind in expected}
    for entry in report["entries"]:
        tx = by_id[entry["input"]["id"]]
        found[entry["kind"]].add(tx.id)
        if entry["new"] is not None:
            assert entry["new"]["value"] == output(v2, tx)
        if entry["old"] is not None:  # the live run agent's output, caused by the event
            assert entry["old"]["value"] == output(v1, tx)
    assert found == expected
    assert all(t.startswith(f"hivebus.shadow.{report['replay_id']}.")
               for t in report["shadow_topics"])  # fmt: skip
    dropped = hivebus("replay", "drop", report["replay_id"])
    assert dropped.returncode == 0, dropped.stderr


# After its sleep, the run asks the tool again: the second answer comes from the live run's
# second handling (its wake-up), and serving the two in the wrong order changes the output.
AFTER_SLEEP = """await ctx.sleep(0.2)
    try:
        again = await ctx.step("score", score, tx.id + "/after-sleep", returns=Verdict)
    except Exception as error:
        again = Verdict(risk=-1.0, note=f"unscored: {{error}}")
    verdict = Verdict(risk=verdict.risk, note=verdict.note + " | " + again.note)
    {flaky}"""
FLAKY = "if ctx.attempt == 1:\n        raise RuntimeError('the first attempt of every run fails')"


async def test_a_durable_agent_s_steps_are_served_from_its_runs_record(
    stack: Endpoints, admin: AdminClient, tmp_path: Path
) -> None:
    """`--tools record` for a durable agent: each step's result comes from the audit of the
    live run agent's handlings of the run (its start, then its wake-up after the sleep);
    and a retried handling of a replayed run replays the steps it had finished."""
    world = new_world(tmp_path)
    world.create_topics(admin)
    (tmp_path / "contracts.py").write_text(SHIM)
    names = {"name": world.name, "topic": world.card, "flagged": world.flagged}
    calls = {v: tmp_path / f"calls_{v}.txt" for v in ("v1", "v2", "v3")}
    audited = f'Agent("{world.name}", middleware=[Audit()])'
    for version, risk, fails, flaky in (
        ("v1", 0.25, True, ""), ("v2", 0.75, False, ""), ("v3", 0.75, False, FLAKY)
    ):  # fmt: skip
        source = TOOL_AGENT.format(
            **names, calls=str(calls[version]), risk=risk, fails=fails, service=version,
            extra=AFTER_SLEEP.format(flaky=flaky),
        )  # fmt: skip
        assert audited in source
        durable = audited.replace("middleware=", "durable=True, middleware=")
        (tmp_path / f"judge_{version}.py").write_text(source.replace(audited, durable))
    contracts = world.module(CONTRACTS)
    txs = [tx for tx in transactions(contracts, 60, seed=31) if tx.channel == "card"]
    start_ms = time.time_ns() // 1_000_000 - 1
    await publish(world, txs)
    async with running(load_agents(str(tmp_path / "judge_v1.py"))):
        history = await read_events(
            Serde(registry_client()), world.flagged, contracts.FlaggedTransaction, len(txs),
            timeout_s=90,
        )  # fmt: skip
    notes = [e.event.reasons[0] for e in history]
    assert all(" | " in note for note in notes)  # both steps ran in every run
    assert 0 < sum(note.startswith("unscored") for note in notes) < len(txs)
    v2, v3 = str(tmp_path / "judge_v2.py"), str(tmp_path / "judge_v3.py")

    recorded = await replay(
        ReplayOptions(world.name, v2, start_ms, tools="record", drop_shadow=True),
        out=io.StringIO(),
    )  # fmt: skip
    assert recorded.diff.counts == {"same": len(txs), "changed": 0, "new": 0, "missing": 0}
    assert not calls["v2"].exists()  # the tool was not called: every answer was the record's
    live = await replay(
        ReplayOptions(world.name, v2, start_ms, drop_shadow=True), out=io.StringIO()
    )
    assert live.diff.counts["changed"] == len(txs)
    assert len(calls["v2"].read_text().split()) == 2 * len(txs)

    # Every run's first attempt fails after both steps: the retry replays them, not the tool.
    flaky = await replay(
        ReplayOptions(world.name, v3, start_ms, drop_shadow=True), out=io.StringIO()
    )
    assert len(flaky.inputs_by("handled")) == len(txs) and flaky.diff.counts["changed"] == len(txs)
    assert len(calls["v3"].read_text().split()) == 2 * len(txs)


async def test_a_durable_run_of_an_input_without_ce_id_is_matched_with_its_live_outputs(
    stack: Endpoints, admin: AdminClient, tmp_path: Path
) -> None:
    """An input from a client other than hivebus has no `ce_id`: the agent names it by where
    it sits (`topic/partition/offset`). The live run's outputs must name that input as their
    cause and carry its correlation, as a non-durable agent's do, so the replay's diff pairs
    them with the new version's: the kinds are exactly those the two rules give."""
    world, v1_path, v2_path = two_versions(tmp_path, admin, DURABLE[:1])
    contracts, v1, v2 = world.module(CONTRACTS), world.module(v1_path), world.module(v2_path)
    txs = transactions(contracts, 120, seed=37)
    start_ms = time.time_ns() // 1_000_000 - 1
    by_place = await asyncio.to_thread(publish_foreign, world, txs)
    place_of = {tx.id: place for place, tx in by_place.items()}
    flagged = sum(expected_output(v1, tx) is not None for tx in txs)
    assert flagged
    async with running(load_agents(str(v1_path))):
        got = await read_events(
            Serde(registry_client()), world.flagged, contracts.FlaggedTransaction, flagged,
            timeout_s=120,
        )  # fmt: skip
    for received in got:
        assert received.meta is not None
        place = place_of[received.event.tx_id]
        assert (received.meta.causation_id, received.meta.correlation_id) == (place, place)

    report = await replay(
        ReplayOptions(world.name, str(v2_path), start_ms, drop_shadow=True), out=io.StringIO()
    )
    expected = kinds_of(txs, lambda tx: expected_output(v1, tx), lambda tx: expected_output(v2, tx))
    assert expected["same"] and (expected["new"] or expected["missing"])
    found: dict[str, set[str]] = {kind: set() for kind in expected}
    for entry in report.diff.entries:
        tx = by_place[entry.input.id]
        found[entry.kind].add(tx.id)
    assert found == expected


REVIEWED = [
    ("    max_in_flight=256,\n", "    max_in_flight=256,\n    durable=True,\n"),
    (
        "    if risk < FLAG_AT:\n",
        f"    if tx.amount > {REVIEW_ABOVE}:\n"
        '        review = await ctx.wait_for("reviewed")\n'
        "        reasons = [*reasons, f\"reviewed by {review['by']}\"]\n"
        "    if risk < FLAG_AT:\n",
    ),
]


async def test_a_replayed_run_gets_the_signals_its_live_run_was_sent(
    stack: Endpoints, admin: AdminClient, tmp_path: Path
) -> None:
    """Runs of the largest transactions wait for a review signal; live, half of them get
    one. In the replay each signalled run gets its own live signal again (its output names
    the reviewer), the unsignalled ones stay suspended, and the diff is exactly what the two
    rules and the reviews give."""
    world, v1_path, v2_path = two_versions(tmp_path, admin, REVIEWED)
    contracts, v1, v2 = world.module(CONTRACTS), world.module(v1_path), world.module(v2_path)
    txs = transactions(contracts, 200, seed=41)
    start_ms = time.time_ns() // 1_000_000 - 1
    by_id = await publish(world, txs)
    id_of = {tx.id: run for run, tx in by_id.items()}
    waiting = [tx for tx in txs if tx.amount > REVIEW_ABOVE]
    reviewer = {tx.id: f"analyst-{n}" for n, tx in enumerate(waiting) if n % 2 == 0}
    assert reviewer and len(reviewer) < len(waiting)

    def expected(module: types.ModuleType, tx: Any) -> dict[str, Any] | None:
        if tx.amount <= REVIEW_ABOVE:
            return expected_output(module, tx)
        if tx.id not in reviewer:
            return None  # still waiting
        out = expected_output(module, tx)
        return out and {**out, "reasons": [*out["reasons"], f"reviewed by {reviewer[tx.id]}"]}

    serde = Serde(registry_client())
    first = sum(expected(v1, tx) is not None for tx in txs if tx.amount <= REVIEW_ABOVE)
    total = sum(expected(v1, tx) is not None for tx in txs)
    async with running(load_agents(str(v1_path))):
        await read_events(serde, world.flagged, contracts.FlaggedTransaction, first,
                          timeout_s=120)  # fmt: skip
        for tx_id, by in reviewer.items():  # once the runs wait (their outputs came after)
            await signal(world.name, id_of[tx_id], "reviewed", {"by": by})
        got = await read_events(serde, world.flagged, contracts.FlaggedTransaction, total,
                                timeout_s=120)  # fmt: skip
    assert len(got) == total

    report = await replay(
        ReplayOptions(world.name, str(v2_path), start_ms, drop_shadow=True), out=io.StringIO()
    )
    assert len(report.inputs_by("suspended")) == len(waiting) - len(reviewer)
    kinds = kinds_of(txs, lambda tx: expected(v1, tx), lambda tx: expected(v2, tx))
    found: dict[str, set[str]] = {kind: set() for kind in kinds}
    reviewed_outputs = 0
    for entry in report.diff.entries:
        tx = by_id[entry.input.id]
        found[entry.kind].add(tx.id)
        if entry.new is not None:
            assert entry.new.value == expected(v2, tx)
            reviewed_outputs += tx.id in reviewer
    assert found == kinds
    assert reviewed_outputs  # the signalled runs completed in the replay too
