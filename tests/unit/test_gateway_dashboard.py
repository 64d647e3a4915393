"""The dashboard's logic without a broker: rates from counters, lag and dead-letter counts
from offsets, the rows of agents and tasks, what one caller's key may see, and the page
being served whole (one inline script, allowed by its hash, nothing loaded from elsewhere)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.testclient import TestClient

import hivebus.gateway.dashboard.hub as hub_module
from hivebus.durable.records import JournalStep, RunJournal
from hivebus.gateway import dashboard
from hivebus.gateway.auth import AuthMiddleware
from hivebus.gateway.catalog import Snapshot as Catalogue
from hivebus.gateway.dashboard import agents, snapshot
from hivebus.gateway.dashboard.deadletters import DeadLetterCount, count
from hivebus.gateway.dashboard.hub import Dashboard
from hivebus.gateway.dashboard.offsets import GroupOffsets
from hivebus.gateway.dashboard.rates import RateMeter
from hivebus.gateway.dashboard.routes import PAGE, PAGE_HEADERS
from hivebus.gateway.dashboard.tasks import READING, NewestFirst, task_row
from hivebus.gateway.records import TaskRecord
from hivebus.runtime.directory import AgentAnnouncement, AgentView

NOW = datetime(2026, 1, 31, 12, 0, 0, tzinfo=UTC)


def stamp(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def announced(agent: str, instance: str, *, ago_s: float, **fields: Any) -> AgentAnnouncement:
    values: dict[str, Any] = {
        "agent": agent, "version": "2", "instance": instance, "status": "running",
        "subscriptions": ["leads.requested"], "handles": ["x.Lead"],
        "started_at": stamp(NOW - timedelta(hours=1)),
        "heartbeat_at": stamp(NOW - timedelta(seconds=ago_s)), "heartbeat_interval_s": 10.0,
    }  # fmt: skip
    return AgentAnnouncement(**(values | fields))


def view(*instances: AgentAnnouncement) -> AgentView:
    return AgentView(instances[-1].agent, instances[-1], {a.instance: a for a in instances})


# ---- rates ----


def test_a_rate_is_the_counters_growth_over_the_time_between_samples() -> None:
    meter = RateMeter()
    meter.add("a", 100.0, 10)
    assert meter.rate("a") is None  # one sample says nothing about speed
    meter.add("a", 102.0, 30)
    assert meter.rate("a") == 10.0
    assert meter.rate("unknown") is None


def test_a_sample_seen_again_is_ignored_and_a_counter_that_went_down_starts_afresh() -> None:
    meter = RateMeter()
    meter.add("a", 100.0, 10)
    meter.add("a", 110.0, 60)
    meter.add("a", 110.0, 60)  # the same heartbeat, read from the directory once more
    meter.add("a", 105.0, 70)  # an older sample
    assert meter.rate("a") == 5.0
    meter.add("a", 120.0, 3)  # the instance restarted: its counter is small again
    assert meter.rate("a") is None
    meter.add("a", 122.0, 7)
    assert meter.rate("a") == 2.0


def test_rates_cover_the_window_and_forget_counters_no_longer_shown() -> None:
    meter = RateMeter(window_s=10.0)
    for second in range(0, 31):
        meter.add("a", float(second), second if second <= 20 else 20 + 5 * (second - 20))
    # Only the last ten seconds count (5 per second), not the slow start.
    assert meter.rate("a") == pytest.approx(5.0)
    meter.add("b", 0.0, 0)
    meter.keep_only(["b"])
    assert meter.rate("a") is None


# ---- offsets ----


def test_lag_counts_only_partitions_the_group_has_committed_on() -> None:
    offsets = GroupOffsets(
        committed={("t", 0): 5, ("t", 1): 10, ("gone", 0): 3},
        ends={("t", 0): 9, ("t", 1): 10, ("other", 0): 100},
    )
    assert offsets.lag == 4
    assert offsets.committed_total == 18 and offsets.end_total == 19
    assert GroupOffsets().lag is None


def test_dead_letters_pending_start_where_replay_committed_and_where_retention_left_off() -> None:
    starts = {("dlq", 0): 0, ("dlq", 1): 40}
    ends = {("dlq", 0): 10, ("dlq", 1): 50}
    assert count(starts, ends, {}) == (20, 20)
    assert count(starts, ends, {("dlq", 0): 7}) == (20, 13)
    assert count(starts, ends, {("dlq", 1): 30}) == (20, 20)  # replayed what retention dropped


# ---- agents ----


def test_an_agent_row_has_its_live_instances_in_flight_work_lag_and_rates() -> None:
    a = announced("scout", "h:1:a", ago_s=2, in_flight=3, consumed=120, produced=60)
    b = announced("scout", "h:2:b", ago_s=4, in_flight=1, consumed=10)
    silent = announced("scout", "h:3:c", ago_s=600, in_flight=9)  # no heartbeat for 10 min
    rates, commits, arrivals = RateMeter(), RateMeter(), RateMeter()
    rates.add("scout/h:1:a", 0.0, 100)
    rates.add("scout/h:1:a", 10.0, 120)
    commits.add("scout", 0.0, 0)
    commits.add("scout", 2.0, 8)
    offsets = GroupOffsets({("leads", 0): 8}, {("leads", 0): 11})

    row = agents.agent_row(
        view(silent, b, a), at=NOW, durable=True, part=None, offsets=offsets,
        instance_rates=rates, committed_rates=commits, arrival_rates=arrivals,
    )  # fmt: skip

    assert row["status"] == "running" and row["live_instances"] == 2 and row["durable"]
    assert [(i["id"], i["status"], i["live"]) for i in row["instances"]] == [
        ("h:3:c", "silent", False), ("h:2:b", "running", True), ("h:1:a", "running", True),
    ]  # fmt: skip
    assert row["in_flight"] == 4  # the silent instance's last word does not count
    assert row["consumed_per_s"] == 2.0 and row["committed_per_s"] == 4.0
    assert row["arriving_per_s"] is None
    assert row["lag"] == 3


def test_agents_not_heard_from_lately_are_left_out_and_parts_name_their_agent() -> None:
    views = {
        "scout": view(announced("scout", "i", ago_s=1)),
        "scout.runs": view(announced("scout.runs", "i", ago_s=1)),
        "left": view(announced("left", "j", ago_s=300, status="stopped")),
        "ancient": view(announced("ancient", "k", ago_s=agents.SHOWN_FOR_S + 60)),
    }
    assert agents.shown_agents(views, NOW) == ["left", "scout", "scout.runs"]
    assert agents.part_of("scout.runs", views) == "scout"
    assert agents.part_of("scout", views) is None
    assert agents.part_of("other.runs", views) is None  # no agent `other`


def test_instance_rates_come_from_successive_heartbeats() -> None:
    meter = RateMeter()
    first = {"scout": view(announced("scout", "i", ago_s=10, consumed=100))}
    second = {"scout": view(announced("scout", "i", ago_s=0, consumed=150))}
    agents.sample_instances(meter, first)
    agents.sample_instances(meter, first)  # the directory read again, no new heartbeat
    agents.sample_instances(meter, second)
    assert meter.rate("scout/i") == 5.0


# ---- tasks ----


def task() -> TaskRecord:
    return TaskRecord(
        task_id="t1", agent="scout", topic="leads", type="x.Lead", key="k",
        submitted_at=stamp(NOW),
    )  # fmt: skip


def journal(state: str, *names: str, **fields: Any) -> RunJournal:
    steps = [
        JournalStep(seq=seq, name=name, outcome="ok", codec="json", value=b'"big value"',
                    started_at=stamp(NOW), duration_ms=1000.0 + seq)
        for seq, name in enumerate(names)
    ]  # fmt: skip
    return RunJournal(run_id="t1", agent="scout", state=state, steps=steps[::-1], topic="leads",
                      offset=0, started_at=stamp(NOW), updated_at=stamp(NOW), **fields)  # fmt: skip


def test_a_task_row_follows_its_run_from_submitted_to_completed() -> None:
    before = task_row(task(), None)
    assert (before["state"], before["terminal"], before["last_event_id"]) == (
        "submitted",
        False,
        "0",
    )
    assert before["steps"] == [] and before["run"] is None and before["agent"] == "scout"

    working = task_row(task(), journal("running", "plan", "search"))
    assert (working["state"], working["last_event_id"]) == ("working", "2")
    assert [s["name"] for s in working["steps"]] == ["plan", "search"]  # in journal order
    assert "value" not in working["steps"][0]  # the task's own stream carries values

    waiting = task_row(task(), journal("waiting", "plan", waiting_for="approval@1"))
    assert (waiting["state"], waiting["last_event_id"]) == ("input-required", "1.waiting")

    done = task_row(task(), journal("completed", "plan", "search", "write"))
    assert (done["state"], done["terminal"], done["last_event_id"]) == ("completed", True, "3.end")


# ---- the document, per caller ----


def document() -> dict[str, Any]:
    rates = RateMeter()
    rows = [
        agents.agent_row(view(announced(name, "i", ago_s=1, in_flight=2)), at=NOW, durable=True,
                         part=part, offsets=GroupOffsets({("t", 0): 1}, {("t", 0): 4}),
                         instance_rates=rates, committed_rates=rates, arrival_rates=rates)
        for name, part in (("scout", None), ("scout.runs", "scout"), ("secret", None))
    ]  # fmt: skip
    tasks = [task_row(task(), journal("running", "plan")),
             {**task_row(task(), None), "id": "t2", "agent": "secret"}]  # fmt: skip
    dead = [
        DeadLetterCount("scout.runs", "hivebus.dlq.scout.runs", 4, 1, {"hivebus.runs.scout": 4}),
        DeadLetterCount("secret", "hivebus.dlq.secret", 9, 9),
    ]
    return snapshot.build(
        taken_at=stamp(NOW), directory_read_at=stamp(NOW), refresh_s=2.0, agents=rows,
        hidden_agents=1, tasks=tasks, dead_letters=dead, problems=[],
    )  # fmt: skip


def test_the_document_lists_everything_with_totals_for_a_caller_who_may_use_every_agent() -> None:
    seen = snapshot.visible(document(), lambda agent: True)
    assert [a["name"] for a in seen["agents"]] == ["scout", "scout.runs", "secret"]
    assert [d["agent"] for d in seen["dead_letters"]] == ["secret", "scout.runs"]  # most pending
    assert seen["totals"] == {
        "agents": 2, "instances": 1, "in_flight": 6, "lag": 9, "tasks_open": 2,
        "tasks_failed": 0, "dead_letters": 13, "dead_letters_pending": 10,
    }  # fmt: skip


def test_a_caller_sees_only_the_agents_its_key_may_use_and_totals_of_those() -> None:
    seen = snapshot.visible(document(), lambda agent: agent == "scout")
    assert [a["name"] for a in seen["agents"]] == ["scout", "scout.runs"]
    assert [t["agent"] for t in seen["tasks"]] == ["scout"]
    assert [d["agent"] for d in seen["dead_letters"]] == ["scout.runs"]  # a part of scout
    assert seen["totals"]["dead_letters"] == 4 and seen["totals"]["in_flight"] == 4
    assert snapshot.owner("scout.replies") == "scout" and snapshot.owner(".runs") == ".runs"


# ---- the routes ----


class FixedDashboard(Dashboard):
    """The routes' view of a dashboard, with a document already read."""

    def __init__(self, found: dict[str, Any]) -> None:
        self.found = found

    async def document(self) -> dict[str, Any]:
        return self.found


def test_the_page_is_whole_and_its_only_script_is_allowed_by_hash() -> None:
    scripts = re.findall(r"<script>(.*?)</script>", PAGE, flags=re.DOTALL)
    assert len(scripts) == 1 and "<script " not in PAGE
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    policy = PAGE_HEADERS["Content-Security-Policy"]
    assert f"script-src 'sha256-{digest}'" in policy and "connect-src 'self'" in policy
    # Nothing is fetched from elsewhere: no CDN, no web font, no absolute URL.
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", PAGE)
    assert "@import" not in PAGE and " on" + "click=" not in PAGE


def test_routes_serve_the_page_redirect_to_it_and_answer_the_document() -> None:
    app = Starlette(routes=dashboard.routes(), middleware=[Middleware(AuthMiddleware, keys=None)])
    app.state.dashboard = FixedDashboard(document())
    with TestClient(app) as client:
        moved = client.get("/?access_token=k1", follow_redirects=False)
        assert moved.status_code == 302
        assert moved.headers["location"].endswith("/dashboard?access_token=k1")
        page = client.get("/dashboard")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "Content-Security-Policy" in page.headers and "EventSource" in page.text
        found = client.get("/v1/dashboard").json()
    assert found["totals"]["agents"] == 2 and len(found["tasks"]) == 2


# ---- the hub: reads while watched, every viewer gets the newest document ----


class FakeCatalog:
    def __init__(self) -> None:
        self.reads = 0

    async def fresher(self, since: float) -> Catalogue:
        self.reads += 1
        at = datetime.now(UTC)
        views = {"scout": view(announced("scout", "i", ago_s=0, consumed=self.reads * 10))}
        views["scout"].latest.heartbeat_at = views["scout"].instances["i"].heartbeat_at = stamp(at)
        return Catalogue(views, {"hivebus.journal.scout": 1}, time.monotonic())


class FakeGateway:
    def __init__(self) -> None:
        self.catalog = FakeCatalog()

    def recent_tasks(self, limit: int) -> list[TaskRecord]:
        return []


class OfflineDashboard(Dashboard):
    """The hub with the broker's answers made up: the lag grows by one per reading."""

    reads = 0

    def _read_groups(self, groups: list[str]) -> dict[str, GroupOffsets]:
        self.reads += 1
        return {"scout": GroupOffsets({("t", 0): 0}, {("t", 0): self.reads})}

    def _read_dead_letters(self, partitions: dict[str, int]) -> list[DeadLetterCount]:
        return [DeadLetterCount("scout", "hivebus.dlq.scout", 2, 1, None)]


async def test_the_hub_pushes_a_new_document_per_reading_while_someone_watches() -> None:
    hub = OfflineDashboard(FakeGateway(), refresh_s=0.05)  # type: ignore[arg-type]
    first = await hub.document()
    assert [a["name"] for a in first["agents"]] == ["scout"]
    assert first["agents"][0]["live_instances"] == 1 and first["agents"][0]["durable"]
    seen = []
    async for version, found in hub.updates():
        seen.append((version, found["agents"][0]["lag"]))
        if len(seen) == 3:
            break
    versions, lags = zip(*seen, strict=True)
    assert list(versions) == sorted(set(versions)) and lags[-1] > lags[0]
    assert first["dead_letters"][0]["pending"] == 1
    await hub.stop()


def test_a_task_whose_journal_was_not_looked_at_yet_is_not_counted_open() -> None:
    rows = [{**task_row(task(), None), "state": READING}, task_row(task(), journal("running"))]
    assert snapshot.totals([], rows, [])["tasks_open"] == 1


async def test_the_newest_task_gets_the_next_turn_to_read_its_journal() -> None:
    gate, order = NewestFirst(1), []
    release = asyncio.Event()

    async def holder() -> None:
        async with gate.turn(0):
            await release.wait()

    async def waiter(key: float) -> None:
        async with gate.turn(key):
            order.append(key)

    first = asyncio.create_task(holder())
    await asyncio.sleep(0)
    waiting = [asyncio.create_task(waiter(key)) for key in (1.0, 3.0, 2.0, 4.0)]
    await asyncio.sleep(0)
    waiting[3].cancel()  # a task no longer shown: its place is given up
    await asyncio.sleep(0)
    release.set()
    await asyncio.gather(first, *waiting, return_exceptions=True)
    assert order == [3.0, 2.0, 1.0]
    async with gate.turn(5.0):  # and the slot is free again
        pass


async def test_a_viewer_who_comes_as_the_hub_goes_idle_still_gets_readings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(hub_module, "IDLE_S", 0.05)
    hub = OfflineDashboard(FakeGateway(), refresh_s=0.02)  # type: ignore[arg-type]
    stop_watches, arrived = hub._tasks.stop, asyncio.Event()
    reads_then: list[int] = []

    async def stop_while_a_viewer_comes() -> None:
        if not arrived.is_set():  # once: a request comes while the loop is still ending
            reads_then.append(hub.reads)
            arrived.set()
            await hub.document()
        await stop_watches()

    hub._tasks.stop = stop_while_a_viewer_comes  # type: ignore[method-assign]
    await hub.document()
    await asyncio.wait_for(arrived.wait(), 5)
    await asyncio.sleep(0.2)  # several refreshes, had the loop gone on for the viewer
    assert hub.reads > reads_then[0]
    await hub.stop()
