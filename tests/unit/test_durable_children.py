"""Which children a run still waits on when it ends, read from its journal, and their cancel
recorded once: a restart that sees the record sends nothing again."""

from __future__ import annotations

import json

from hivebus import Callee
from hivebus.durable.calls import call_id, reply_signal
from hivebus.durable.children import STEP, Children, child_agents, open_children
from hivebus.durable.records import JournalStep, RunJournal
from hivebus.patterns import ChildResult, Team
from tests.integration.runtime_contracts import Pong

TEAM = Callee("team.spawned", reply_topic="team.child-results", returns=ChildResult,
              agent="team.child")  # fmt: skip
PLAIN = Callee("prices.requested", reply_topic="prices.quoted", returns=Pong)
AGENTS = child_agents([TEAM, PLAIN])
RUN = "run-1"


def _step(seq: int, name: str, outcome: str = "ok") -> JournalStep:
    return JournalStep(seq=seq, name=name, outcome=outcome, codec="json", value=b"null",
                       started_at="t", duration_ms=1.0)  # fmt: skip


def _journal(*steps: JournalStep, signals: dict[str, bytes] | None = None) -> RunJournal:
    return RunJournal(run_id=RUN, agent="lead", state="waiting", topic="in", offset=0,
                      steps=list(steps), signals=signals or {}, started_at="t",
                      updated_at="t")  # fmt: skip


def _spawn(base: int, n: int, *, ended: bool) -> list[JournalStep]:
    """A gather of n calls to the team at `base`: calls, deadline, and maybe the outcome."""
    steps = [_step(base + i, "hivebus:call:team.spawned") for i in range(n)]
    steps.append(_step(base + n, "hivebus:gather"))
    return steps + ([_step(base + n + 1, "hivebus:gathered")] if ended else [])


def test_a_gather_without_its_outcome_leaves_the_children_that_did_not_answer_open() -> None:
    answered = {reply_signal(1, "r-0"): b"..."}
    journal = _journal(_step(0, "hivebus:now"), *_spawn(1, 3, ended=False), signals=answered)
    assert open_children(journal, AGENTS) == {
        "team.child": [call_id("lead", RUN, 2), call_id("lead", RUN, 3)]
    }


def test_an_ended_gather_leaves_nothing_open_and_a_later_open_one_counts_alone() -> None:
    closed = _journal(_step(0, "hivebus:now"), *_spawn(1, 3, ended=True))
    assert open_children(closed, AGENTS) == {}
    later = _journal(*_spawn(0, 2, ended=True), *_spawn(4, 1, ended=False))
    assert open_children(later, AGENTS) == {"team.child": [call_id("lead", RUN, 4)]}


def test_an_open_collect_counts_and_unsent_calls_or_plain_callees_do_not() -> None:
    collect = [_step(0, "hivebus:call:team.spawned"), _step(1, "hivebus:collect")]
    assert open_children(_journal(*collect), AGENTS) == {"team.child": [call_id("lead", RUN, 0)]}
    unsent = _journal(_step(0, "hivebus:call:team.spawned", outcome="failed"))
    assert open_children(unsent, AGENTS) == {}
    plain = _journal(_step(0, "hivebus:call:prices.requested"), _step(1, "hivebus:gather"))
    assert open_children(plain, AGENTS) == {}  # no agent declared: nobody to cancel


async def test_open_children_are_cancelled_once_and_the_cancel_is_recorded() -> None:
    sent: list[tuple[str, list[str]]] = []

    async def send(agent: str, run_ids: list[str], *, source: str) -> None:
        sent.append((agent, run_ids))

    children = Children("lead", [TEAM, PLAIN], send=send)
    journal = _journal(_step(0, "hivebus:now"), *_spawn(1, 2, ended=False))
    cancelled = await children.cancel_open(journal, position=5)
    expected = {"team.child": [call_id("lead", RUN, 1), call_id("lead", RUN, 2)]}
    assert cancelled == expected and sent == [("team.child", expected["team.child"])]
    record = journal.steps[-1]
    assert (record.name, record.seq, record.outcome) == (STEP, 5, "ok")
    assert json.loads(record.value or b"") == expected
    # The end is redone (a redelivered cancel, say): the record says it happened already.
    assert await children.cancel_open(journal, position=0) == {}
    assert len(sent) == 1 and len(journal.steps) == 5
    nothing = _journal(*_spawn(0, 1, ended=True))
    assert await children.cancel_open(nothing) == {} and len(nothing.steps) == 3


def test_a_team_tells_its_callers_which_agent_runs_its_children() -> None:
    team = Team("editors")
    assert team.callee.agent == "editors.child" == team.children.name
    assert child_agents(team.calls) == {"editors.spawned": "editors.child"}
