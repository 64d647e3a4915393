"""The audit's projections, in SQLite: a run's timeline, statistics per agent, cost per
correlation, and the trees `hivebus history trace` draws.

Everything here is derived from `hivebus.audit` and can be thrown away: `restore.py` fills a
store on any machine by reading the topic again (from where a store kept in a file stopped).
Events are keyed by (decision_id, seq), so reading one twice, or a redelivered handling's
second copy, changes nothing.
"""

from __future__ import annotations

import sqlite3
import statistics
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from hivebus.audit.records import DEAD, DECISION, LATE, LLM, OK, STEP, AuditBlob, AuditEvent

SCHEMA = """
create table if not exists events (
    decision_id text not null, seq integer not null, kind text not null,
    agent text not null, correlation_id text not null, run_id text,
    at_ms integer not null, duration_ms real not null, outcome text not null,
    body text not null,
    primary key (decision_id, seq)
);
create index if not exists events_by_correlation on events (correlation_id);
create index if not exists events_by_run on events (run_id);
create table if not exists decisions (
    decision_id text primary key, agent text not null, agent_version text not null,
    correlation_id text not null, run_id text, at_ms integer not null,
    duration_ms real not null, outcome text not null, attempts integer not null,
    input_topic text, input_event_id text, input_causation_id text
);
create index if not exists decisions_by_input on decisions (input_event_id);
create table if not exists llm_calls (
    decision_id text not null, seq integer not null, agent text not null,
    correlation_id text not null, model text not null, prompt_tokens integer not null,
    completion_tokens integer not null, latency_ms real not null, cost real,
    outcome text not null,
    primary key (decision_id, seq)
);
create table if not exists blobs (
    sha256 text primary key, media_type text not null, size integer not null,
    data text not null, truncated integer not null
);
create table if not exists positions (
    topic text not null, partition integer not null, next_offset integer not null,
    primary key (topic, partition)
);
"""


@dataclass(frozen=True)
class AgentStats:
    agent: str
    decisions: int
    ok: int
    dead_lettered: int
    other: int  # durable runs' other states (sleeping, waiting, parked, failed)
    p50_ms: float
    max_ms: float
    steps: int
    llm_calls: int
    tokens: int
    cost: float | None


@dataclass(frozen=True)
class Cost:
    correlation_id: str
    llm_calls: int
    prompt_tokens: int
    completion_tokens: int
    cost: float | None  # None: some call had no price, and none had one


class AuditStore:
    """In memory by default; a file path keeps it, so the next restore reads only what is new."""

    def __init__(self, path: str = ":memory:") -> None:
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._lock = threading.Lock()
        self._db.executescript(SCHEMA)

    def add(self, events: Iterable[AuditEvent]) -> int:
        """Project audit events (a batch, in one transaction); how many were new."""
        added = 0
        with self._lock, self._db:
            for event in events:
                added += self._add(event)
        return added

    def _add(self, event: AuditEvent) -> int:
        if event.kind == DECISION:
            known = self._db.execute(
                "select seq, body from events where decision_id = ? and kind = ?",
                (event.decision_id, DECISION),
            ).fetchone()  # fmt: skip
            if known is not None:  # one decision per record
                return self._merge(event, known[0], known[1])
        cursor = self._db.execute(
            "insert or ignore into events values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", _row(event)
        )
        if not cursor.rowcount:
            return 0
        if event.kind == DECISION:
            given = event.input
            self._db.execute(
                "insert or ignore into decisions values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (event.decision_id, event.agent, event.agent_version, event.correlation_id,
                 event.run_id, event.at_ms, event.duration_ms, event.outcome, event.attempt,
                 given.topic if given else None, given.event_id if given else None,
                 given.causation_id if given else None),
            )  # fmt: skip
        elif event.kind == LLM and event.llm is not None:
            call = event.llm
            self._db.execute(
                "insert or ignore into llm_calls values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (event.decision_id, event.seq, event.agent, event.correlation_id, call.model,
                 call.prompt_tokens, call.completion_tokens, call.latency_ms, call.cost,
                 event.outcome),
            )  # fmt: skip
        return 1

    def _merge(self, event: AuditEvent, seq: int, body: str) -> int:
        """A second decision about one record: a late dead letter (an output the broker
        refused after the handling, audit/dead_letters.py: `seq` LATE) and the handling's
        own "ok", in either order. The record's fate is the dead letter's; everything else
        (what it read and published, when, how long) is the handling's. Any other second
        decision (a redelivery's) changes nothing."""
        known = AuditEvent.model_validate_json(body)
        if known.outcome == OK and event.outcome == DEAD and event.seq == LATE:
            dead, handled = event, known
        elif known.outcome == DEAD and known.seq == LATE and event.outcome == OK:
            dead, handled = known, event
        else:
            return 0
        merged = handled.model_copy(update={"outcome": DEAD, "error": dead.error})
        self._db.execute(
            "delete from events where decision_id = ? and seq = ?", (event.decision_id, seq)
        )
        self._db.execute("insert or replace into events values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         _row(merged))  # fmt: skip
        self._db.execute(
            "update decisions set agent_version = ?, outcome = ?, attempts = ?, "
            "duration_ms = ?, at_ms = ? where decision_id = ?",
            (merged.agent_version, DEAD, merged.attempt, merged.duration_ms, merged.at_ms,
             event.decision_id),
        )  # fmt: skip
        return 1

    def add_blobs(self, blobs: Iterable[AuditBlob]) -> None:
        with self._lock, self._db:
            self._db.executemany(
                "insert or ignore into blobs values (?, ?, ?, ?, ?)",
                [(b.sha256, b.media_type, b.size, b.data, int(b.truncated)) for b in blobs],
            )

    def blob(self, sha256: str) -> str | None:
        row = self._one("select data from blobs where sha256 = ?", (sha256,))
        return None if row is None else str(row[0])

    def positions(self, topic: str) -> dict[int, int]:
        """Where the next restore of `topic` starts, per partition."""
        with self._lock:
            rows = self._db.execute(
                "select partition, next_offset from positions where topic = ?", (topic,)
            ).fetchall()
        return {int(p): int(o) for p, o in rows}

    def advance(self, topic: str, positions: dict[int, int]) -> None:
        with self._lock, self._db:
            self._db.executemany(
                "insert into positions values (?, ?, ?) on conflict (topic, partition) "
                "do update set next_offset = excluded.next_offset",
                [(topic, p, o) for p, o in positions.items()],
            )

    # Projections

    def events(self, *, correlation_id: str | None = None, run_id: str | None = None,
               decision_ids: Iterable[str] = ()) -> list[AuditEvent]:  # fmt: skip
        """Audit events of a correlation, a run or some decisions: handlings in the order
        they started, each one's events in its order (steps and calls, the decision last)."""
        clauses, params = [], []
        if correlation_id is not None:
            clauses.append("correlation_id = ?")
            params.append(correlation_id)
        if run_id is not None:
            clauses.append("run_id = ?")
            params.append(run_id)
        wanted = list(decision_ids)
        if wanted:
            clauses.append(f"decision_id in ({', '.join('?' * len(wanted))})")
            params += wanted
        if not clauses:
            return []
        rows = self._all(
            f"select body from events where {' or '.join(clauses)} order by "
            "(select min(at_ms) from events first where first.decision_id = events.decision_id), "
            "decision_id, seq",
            params,
        )
        return [AuditEvent.model_validate_json(row[0]) for row in rows]

    def timeline(self, run_or_correlation: str) -> list[AuditEvent]:
        """Everything recorded for a run (by run id) or a correlation, handling by handling."""
        return self.events(correlation_id=run_or_correlation, run_id=run_or_correlation)

    def decisions_for(self, ident: str) -> list[str]:
        """The decisions an id names: a run's, a decision's own, or those of a handled event."""
        rows = self._all(
            "select decision_id from decisions where run_id = ? or decision_id = ? "
            "or input_event_id = ? order by at_ms",
            (ident, ident, ident),
        )
        return [str(row[0]) for row in rows]

    def agent_stats(self) -> list[AgentStats]:
        durations: dict[str, list[float]] = {}
        for agent, took in self._all("select agent, duration_ms from decisions", ()):
            durations.setdefault(agent, []).append(float(took))
        rows = self._all(
            "select agent, count(*), sum(outcome = 'ok' or outcome = 'completed'), "
            "sum(outcome = 'dead-lettered') from decisions group by agent order by agent",
            (),
        )
        steps = dict(self._all(
            f"select agent, count(*) from events where kind = '{STEP}' group by agent", ()
        ))  # fmt: skip
        llm = {
            row[0]: row[1:]
            for row in self._all(
                "select agent, count(*), sum(prompt_tokens + completion_tokens), sum(cost) "
                "from llm_calls group by agent",
                (),
            )
        }
        found = []
        for agent, count, ok, dead in rows:
            calls, tokens, cost = llm.get(agent, (0, 0, None))
            took = durations.get(agent, [0.0])
            found.append(AgentStats(
                agent, count, ok or 0, dead or 0, count - (ok or 0) - (dead or 0),
                statistics.median(took), max(took), int(steps.get(agent, 0)), int(calls),
                int(tokens or 0), cost,
            ))  # fmt: skip
        return found

    def costs(self, correlation_id: str | None = None, limit: int = 50) -> list[Cost]:
        """LLM spending per correlation, most expensive first (or of one correlation)."""
        where, params = ("where correlation_id = ?", [correlation_id]) if correlation_id else (
            "", [])  # fmt: skip
        rows = self._all(
            "select correlation_id, count(*), sum(prompt_tokens), sum(completion_tokens), "
            f"sum(cost) from llm_calls {where} group by correlation_id "
            "order by coalesce(sum(cost), 0) desc, sum(prompt_tokens + completion_tokens) desc "
            "limit ?",
            [*params, limit],
        )
        return [Cost(str(c), int(n), int(p or 0), int(t or 0), cost) for c, n, p, t, cost in rows]

    def count(self) -> int:
        row = self._one("select count(*) from events", ())
        return int(row[0]) if row else 0

    def close(self) -> None:
        self._db.close()

    def _all(self, sql: str, params: Iterable[Any]) -> list[tuple[Any, ...]]:
        with self._lock:
            return list(self._db.execute(sql, tuple(params)).fetchall())

    def _one(self, sql: str, params: Iterable[Any]) -> tuple[Any, ...] | None:
        with self._lock:
            row = self._db.execute(sql, tuple(params)).fetchone()
        return None if row is None else tuple(row)


def _row(event: AuditEvent) -> tuple[Any, ...]:
    """`event` as a row of the `events` table."""
    return (event.decision_id, event.seq, event.kind, event.agent, event.correlation_id,
            event.run_id, event.at_ms, event.duration_ms, event.outcome,
            event.model_dump_json())  # fmt: skip
