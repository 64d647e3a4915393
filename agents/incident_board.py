"""Incident board: a blackboard where agents work an incident out until a writer closes it.

An `Incident` on `<board>.reported` opens a board keyed by the incident id. Then each agent
reacts to the board as it changes, in its own consumer group:

- the logs agent searches the service's logs once and posts what it found;
- the metrics agent queries the service's metrics once and posts what it found;
- the hypothesis agent, once both are on the board, asks the LLM for a root cause
  (`ctx.llm.complete_json(..., schema=Hypothesis)`) and posts it;
- the writer, the only agent allowed to close the board, closes it with the most confident
  hypothesis as its root cause;
- the reporter publishes each closed board as a `RootCause` on `<board>.resolved`.

None of them calls another: each reads the board and posts to it. Adding an agent (a
deploys agent, say) is declaring one more contributor. The log search and the metrics query
are stand-ins, deterministic per service, for calls to a real observability API; the LLM is
whatever `HIVEBUS_LLM_*` names (offline without a key).

    hivebus run agents/incident_board.py
    hivebus publish incidents.reported --type hivebus.examples.incidents.Incident \
        --key inc-1 --json '{"id": "inc-1", "service": "checkout", "summary": "5xx rate 12%"}'
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from hivebus import Agent, Context
from hivebus.patterns.blackboard import Blackboard, BoardState, Post, reply

from .incident_contracts import Hypothesis, Incident, RootCause

OPENED_BY = "alerting"


def search_logs(service: str) -> str:
    """The most frequent error of `service` in the last 15 minutes (simulated)."""
    errors = ["connection pool exhausted (db-primary)", "TLS handshake timeout to payments",
              "OOMKilled: container memory limit 512Mi"]  # fmt: skip
    count = 40 + _pick(service, 200)
    return f"{count} x '{errors[_pick(service, len(errors))]}' in {service} since the alert"


def query_metrics(service: str) -> str:
    """The metrics of `service` that moved with the alert (simulated)."""
    p99 = 800 + _pick(service + "p99", 2000)
    return f"{service}: p99 latency {p99} ms (baseline 180 ms), db connections at 100% of pool"


def _pick(text: str, n: int) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest(), 16) % n


def _service(state: BoardState) -> str:
    return state.of_kind("alert")[0].content.split(":", 1)[0] if state.of_kind("alert") else ""


@dataclass(frozen=True)
class IncidentBoard:
    """The board and every agent of the reference, for one board name."""

    board: Blackboard
    reported: str  # where incidents come in
    resolved: str  # where root causes go out
    agents: list[Agent]


def incident_board(name: str = "incidents") -> IncidentBoard:
    writer_name = f"{name}-writer"
    board = Blackboard(name, max_hops=6, closers=[writer_name])
    reported, resolved = f"{name}.reported", f"{name}.resolved"

    opener = Agent(f"{name}-opener", description="Opens a board for each reported incident")

    @opener.on(reported, Incident)
    async def open_board(incident: Incident, ctx: Context) -> None:
        alert = f"{incident.service}: {incident.summary} ({incident.severity})"
        post = Post(board_id=incident.id, author=OPENED_BY, kind="alert", content=alert)
        await ctx.publish(board.topics.posts, post, key=incident.id)  # keyed by its board

    async def logs(state: BoardState, ctx: Context) -> Post | None:
        if state.of_kind("logs") or not _service(state):
            return None
        found = await ctx.step("search logs", search_logs, _service(state))
        return reply("logs", found)

    async def metrics(state: BoardState, ctx: Context) -> Post | None:
        if state.of_kind("metrics") or not _service(state):
            return None
        found = await ctx.step("query metrics", query_metrics, _service(state))
        return reply("metrics", found)

    async def hypothesise(state: BoardState, ctx: Context) -> Post | None:
        evidence = state.of_kind("logs") + state.of_kind("metrics")
        if len(evidence) < 2 or state.of_kind("hypothesis"):
            return None
        prompt = "An incident is under way. What is its most likely root cause?\n" + "\n".join(
            f"- {entry.kind} ({entry.author}): {entry.content}" for entry in state.entries
        )
        hypothesis = await ctx.llm.complete_json(prompt, schema=Hypothesis)
        if not hypothesis.evidence:
            hypothesis = hypothesis.model_copy(update={"evidence": [e.content for e in evidence]})
        return reply("hypothesis", hypothesis.model_dump_json())

    async def write(state: BoardState, ctx: Context) -> Post | None:
        hypotheses = [Hypothesis.model_validate_json(e.content)
                      for e in state.of_kind("hypothesis")]  # fmt: skip
        if not hypotheses:
            return None
        best = max(hypotheses, key=lambda h: h.confidence)
        return reply("close", best.cause)

    reporter = Agent(f"{name}-reporter", description="Publishes the root cause of closed boards")

    @reporter.on(board.topics.state, BoardState, output=resolved)
    async def report(state: BoardState, ctx: Context) -> RootCause | None:
        if not state.closed:
            return None
        hypotheses = [Hypothesis.model_validate_json(e.content)
                      for e in state.of_kind("hypothesis")]  # fmt: skip
        return RootCause(
            incident_id=state.board_id, root_cause=state.conclusion or "",
            confidence=max((h.confidence for h in hypotheses), default=0.0),
            closed_by=state.closed_by or "", board_version=state.version,
            contributors=list(dict.fromkeys(e.author for e in state.entries)),
        )  # fmt: skip

    contributors = [
        board.contributor(f"{name}-logs", logs, description="Searches the logs"),
        board.contributor(f"{name}-metrics", metrics, description="Queries the metrics"),
        board.contributor(f"{name}-hypothesis", hypothesise, description="Asks the LLM why"),
        board.contributor(writer_name, write, description="Closes with a root cause"),
    ]
    return IncidentBoard(board, reported, resolved, [board.keeper, opener, *contributors, reporter])


incidents = incident_board(os.environ.get("INCIDENT_BOARD", "incidents"))
keeper, opener, logs_agent, metrics_agent, hypothesis_agent, writer, reporter = incidents.agents
