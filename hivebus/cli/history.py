"""`hivebus history trace|at|timeline|stats|cost`: the black box, read back from Kafka.

Every command first projects the audit topic into SQLite (in memory, or the file `--db`
names, which then only reads what is new), then answers from it.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, replace
from typing import Any

from hivebus.audit.at import Snapshot, snapshot
from hivebus.audit.render import timeline_lines, tree_lines
from hivebus.audit.restore import restore
from hivebus.audit.settings import AuditSettings
from hivebus.audit.sources import decoded, fetch_input, journal_of
from hivebus.audit.store import AuditStore
from hivebus.audit.tree import Node, build, walk
from hivebus.contracts import Serde, registry_client
from hivebus.errors import HivebusError
from hivebus.kafka.access import CLI_TIMEOUT_S, check_access


def register(commands: Any) -> None:
    history = commands.add_parser(
        "history",
        help="the audit of agent decisions: causal trees, runs at a step, stats, cost",
        description=(
            "Reads the audit topic (hivebus.audit, or HIVEBUS_AUDIT_TOPIC) that agents with "
            "middleware=[Audit()] write, into an embedded SQLite store, and answers from it."
        ),
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--topic", help="the audit topic (default: HIVEBUS_AUDIT_TOPIC or hivebus.audit)"
    )
    common.add_argument(
        "--db", help="keep the store in this SQLite file; later runs read only what is new"
    )
    common.add_argument("--json", action="store_true", help="JSON instead of text")
    sub = history.add_subparsers(dest="history_command", metavar="<action>", required=True)
    trace = sub.add_parser("trace", parents=[common],
                           help="the causal tree of a correlation, across agents")  # fmt: skip
    trace.add_argument("correlation", help="a correlation id (ce_correlationid)")
    trace.set_defaults(handler=_trace)
    at = sub.add_parser(
        "at", parents=[common], help="what an agent had seen at step K: input and steps up to K"
    )
    at.add_argument("run", help="a run id, a decision id, or the ce_id of a handled event")
    at.add_argument("--step", type=int, help="up to this step, from 1 (default: all)")
    at.set_defaults(handler=_at)
    timeline = sub.add_parser(
        "timeline", parents=[common], help="all recorded for a run or a correlation, by time"
    )
    timeline.add_argument("id", help="a run id or a correlation id")
    timeline.set_defaults(handler=_timeline)
    stats = sub.add_parser("stats", parents=[common], help="decisions, outcomes, durations and "
                           "LLM use per agent")  # fmt: skip
    stats.set_defaults(handler=_stats)
    cost = sub.add_parser("cost", parents=[common], help="LLM tokens and cost per correlation")
    cost.add_argument("correlation", nargs="?", help="only this correlation")
    cost.add_argument("--limit", type=int, default=20, help="the most expensive N (default 20)")
    cost.set_defaults(handler=_cost)


def _loaded(args: argparse.Namespace) -> tuple[AuditStore, Serde, AuditSettings]:
    check_access(CLI_TIMEOUT_S)  # a refused login fails now, not as an empty answer
    settings = AuditSettings.from_env()
    if args.topic:
        settings = replace(settings, topic=args.topic)
    serde = Serde(registry_client())
    store = AuditStore(args.db or ":memory:")
    restore(store, serde, settings)
    return store, serde, settings


def _trace(args: argparse.Namespace) -> int:
    store, _, settings = _loaded(args)
    events = store.events(correlation_id=args.correlation)
    if not events:
        raise HivebusError(f"no audit of correlation {args.correlation!r} in {settings.topic}")
    roots = build(events)
    if args.json:
        print(json.dumps([_node_json(depth, node) for depth, node in walk(roots)], indent=2))
        return 0
    print(f"correlation {args.correlation}: {len(events)} audit event(s) in {settings.topic}\n")
    for line in tree_lines(roots, store.blob):
        print(line)
    return 0


def _at(args: argparse.Namespace) -> int:
    if args.step is not None and args.step < 0:
        raise HivebusError("--step counts from 1 (0: only the input)")
    store, serde, settings = _loaded(args)
    decisions = store.decisions_for(args.run)
    events = store.events(decision_ids=decisions)
    last = next((e for e in reversed(events) if e.kind == "decision"), None)
    journal = fetched = None
    secrets: set[str] = set()
    run_id = last.run_id if last is not None else args.run
    if last is not None and run_id:
        journal = journal_of(serde, last.agent, run_id)
    if journal is not None and journal.input_value:
        fetched, secrets = decoded(serde, journal.input_value)
    elif last is not None and last.input is not None and last.input.payload is None:
        found = fetch_input(serde, last.input)
        if found is not None:
            fetched, secrets = found
    seen = snapshot(args.run, events, args.step, blob=store.blob, journal=journal,
                    fetched=fetched, secrets=secrets)  # fmt: skip
    if seen is None:
        raise HivebusError(f"no audit of {args.run!r} in {settings.topic}")
    if args.json:
        print(json.dumps(seen.as_json(), indent=2, default=str))
    else:
        _print_snapshot(seen)
    return 0


def _print_snapshot(seen: Snapshot) -> None:
    upto = "every step" if seen.upto is None else f"step {seen.upto} of {seen.total_steps}"
    run = f" (run {seen.run_id})" if seen.run_id else ""
    print(f"{seen.agent}{run}, at {upto}\n")
    ref = seen.input_ref
    if ref is not None:
        print(f"input    {ref.type} on {ref.topic}[{ref.partition}]@{ref.offset}  ({ref.event_id})")
    if seen.input_source is None:
        print("         (not in the audit, and no longer in its topic or journal)")
    else:
        print(f"         from the {seen.input_source}: {json.dumps(seen.input, default=str)}")
    print()
    if not seen.steps:
        print("no steps yet")
    for step in seen.steps:
        source = "" if step.source == "audit" else f"  (from the {step.source})"
        what = step.error if step.error else json.dumps(step.result, default=str)
        print(f"{step.number:>3}  {step.name:<24} {step.outcome:<7} "
              f"{step.duration_ms:>8.1f} ms  {what}{source}")  # fmt: skip


def _timeline(args: argparse.Namespace) -> int:
    store, _, settings = _loaded(args)
    events = store.timeline(args.id)
    if not events:
        raise HivebusError(f"no audit of {args.id!r} in {settings.topic}")
    if args.json:
        print(json.dumps([e.model_dump() for e in events], indent=2))
        return 0
    for line in timeline_lines(events):
        print(line)
    return 0


def _stats(args: argparse.Namespace) -> int:
    store, _, _ = _loaded(args)
    rows = store.agent_stats()
    if args.json:
        print(json.dumps([asdict(row) for row in rows], indent=2))
        return 0
    _table(
        ["AGENT", "DECISIONS", "OK", "DEAD", "OTHER", "P50", "MAX", "STEPS", "LLM", "TOKENS",
         "COST"],
        [[r.agent, str(r.decisions), str(r.ok), str(r.dead_lettered), str(r.other),
          f"{r.p50_ms:.1f} ms", f"{r.max_ms:.1f} ms", str(r.steps), str(r.llm_calls),
          str(r.tokens), "-" if r.cost is None else f"{r.cost:.6f}"] for r in rows],
    )  # fmt: skip
    return 0


def _cost(args: argparse.Namespace) -> int:
    store, _, _ = _loaded(args)
    rows = store.costs(args.correlation, args.limit)
    if args.json:
        print(json.dumps([asdict(row) for row in rows], indent=2))
        return 0
    _table(
        ["CORRELATION", "LLM CALLS", "PROMPT", "COMPLETION", "COST"],
        [[r.correlation_id, str(r.llm_calls), str(r.prompt_tokens), str(r.completion_tokens),
          "-" if r.cost is None else f"{r.cost:.6f}"] for r in rows],
    )  # fmt: skip
    return 0


def _node_json(depth: int, node: Node) -> dict[str, Any]:
    found: dict[str, Any] = {"depth": depth, "kind": node.kind, "id": node.id}
    if node.audit is not None:
        found["agent"] = node.audit.agent
        found["outcome"] = node.audit.outcome
        if node.audit.step is not None:
            found["step"] = node.audit.step.name
        if node.audit.llm is not None:
            found["model"] = node.audit.llm.model
        if node.audit.error is not None:
            found["error"] = f"{node.audit.error.type}: {node.audit.error.message}"
    else:
        found.update(topic=node.topic, type=node.type)
    return found


def _table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=False)]
    for row in [header, *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
