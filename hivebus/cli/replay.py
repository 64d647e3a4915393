"""`hivebus replay`: historical inputs through a new version of an agent, into shadow topics,
then a diff against the live outputs; `replay catch-up` and `replay drop`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from typing import Any

from hivebus.contracts import registry_client
from hivebus.contracts.registry_config import registry_connection
from hivebus.errors import ConfigError
from hivebus.kafka.access import CLI_TIMEOUT_S, check_access
from hivebus.kafka.admin import admin_client
from hivebus.kafka.connection import connection
from hivebus.replay import ReplayOptions, ShadowNames, parse_time, replay, summary
from hivebus.replay.catchup import check_from_earliest, run_catching_up
from hivebus.replay.cleanup import drop_shadow
from hivebus.replay.session import LLM_MODES, TOOL_MODES
from hivebus.runtime import Worker
from hivebus.runtime.loader import load_agents
from hivebus.runtime.worker import tune_gc

DESCRIPTION = """\
Send an agent's historical inputs through a new version of it, then compare what the new
version wrote with what the live agent wrote for the same inputs.

The inputs are the records on the topics the new version subscribes to, timestamped from
--from up to --to (default: the end as the replay starts). They are read with assign(): no
consumer group is joined and nothing is committed. The new version runs in this process with
the runtime's own dispatcher, middleware and outbox; everything it writes goes to shadow
topics, hivebus.shadow.<replay id>.<topic>, never to a live topic. The live outputs are found
on the live output topics by their ce_causationid (the input's ce_id), and each output is
reported as same, changed (with the fields that differ), new or missing.
"""

EPILOG = """\
examples:
  hivebus replay --agent fraud-detector --from 2h --with agents/fraud_v2.py
  hivebus replay --agent fraud-detector --from 2025-05-01T00:00:00Z --to 2025-05-02T00:00:00Z \\
      --with agents/fraud_v2.py --json report.json --drop-shadow
  hivebus replay catch-up --agent risk-scorer --with agents/risk.py
  hivebus replay drop r1a2b3c4d

TIME is ISO 8601 (UTC without an offset), epoch milliseconds, 'now', or a duration before
now (90m, 2h, 1d). See docs/replay.md.
"""


def register(commands: Any) -> None:
    command = commands.add_parser(
        "replay",
        help="replay history through a new agent version into shadow topics, and diff",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = command.add_argument
    add("--agent", metavar="NAME", help="the live agent whose inputs and outputs are the "
        "reference (its name: its group and ce_source)")  # fmt: skip
    add("--with", dest="spec", metavar="FILE[:AGENT]", help="the new version: an agent file "
        "or module; its agent named NAME, or its only agent")  # fmt: skip
    add("--from", dest="start", metavar="TIME",
        help="the oldest input to replay, by record timestamp (required)")  # fmt: skip
    add("--to", dest="end", metavar="TIME",
        help="replay inputs before this time (default: up to the end now)")  # fmt: skip
    add("--llm", choices=LLM_MODES, default="live",
        help="live: the new version calls the configured model; record: each LLM call is "
        "answered with the response the audit recorded for its input (default: live)")  # fmt: skip
    add("--tools", choices=TOOL_MODES, default="live",
        help="live: the new version's steps (ctx.step: tool calls) run; record: each step "
        "returns the result the audit recorded for its input, and its function is not "
        "called (default: live)")  # fmt: skip
    add("--json", metavar="FILE", help="write the full report as JSON ('-': stdout)")
    add("--show", type=int, default=20, metavar="N",
        help="print up to N differences (default 20)")  # fmt: skip
    add("--id", dest="replay_id", metavar="ID",
        help="the replay id in the shadow topics' names (default: random)")  # fmt: skip
    add("--drop-shadow", action="store_true",
        help="delete the shadow topics and their subjects after the diff")  # fmt: skip
    add("--fail-on-diff", action="store_true",
        help="exit with status 2 when any output changed, is new or missing")  # fmt: skip
    command.set_defaults(handler=_replay, replay_parser=command)
    actions = command.add_subparsers(dest="replay_action", metavar="[catch-up | drop]")
    catch_up = actions.add_parser(
        "catch-up",
        help="run a new agent from the earliest offsets with a progress line, then live",
        description=(
            "Run an agent whose group is new: it reads its topics from the earliest offsets, "
            "showing records done / total (from the end offsets at start), rate and ETA, until "
            "its group has committed those end offsets; then it goes on live like `hivebus "
            "run` (SIGTERM drains, commits and leaves). Same as `hivebus run FILE --catch-up`."
        ),
    )
    catch_up.add_argument("--agent", required=True, metavar="NAME", help="the agent to run")
    catch_up.add_argument("--with", dest="spec", required=True, metavar="FILE[:AGENT]",
                          help="the agent file or module")  # fmt: skip
    catch_up.add_argument("--metrics-port", type=int, metavar="PORT",
                          help="serve Prometheus metrics on this port")  # fmt: skip
    catch_up.add_argument(
        "--grace", type=float, default=15.0, metavar="SECONDS",
        help="how long in-flight work may finish on shutdown (default 15)",
    )  # fmt: skip
    catch_up.add_argument("--log-level", default="WARNING",
                          choices=["DEBUG", "INFO", "WARNING", "ERROR"])  # fmt: skip
    catch_up.set_defaults(handler=_catch_up)
    drop = actions.add_parser("drop", help="delete a replay's shadow topics and subjects")
    drop.add_argument("id", metavar="REPLAY_ID", help="the id a replay printed (r1a2b3c4d)")
    drop.set_defaults(handler=_drop)


def _replay(args: argparse.Namespace) -> int:
    missing = [flag for flag, value in (("--agent", args.agent), ("--with", args.spec),
                                        ("--from", args.start)) if not value]  # fmt: skip
    if missing:
        args.replay_parser.error(f"the following arguments are required: {', '.join(missing)}")
    connection()
    registry_connection()
    options = ReplayOptions(
        agent=args.agent, spec=args.spec,
        start_ms=parse_time(args.start, option="--from"),
        end_ms=parse_time(args.end, option="--to") if args.end else None,
        llm=args.llm, tools=args.tools, replay_id=args.replay_id,
        drop_shadow=args.drop_shadow,
    )  # fmt: skip
    logging.basicConfig(level="WARNING", format="%(levelname)s %(name)s: %(message)s")
    report = asyncio.run(replay(options))
    if args.json == "-":
        print(report.json_text())
    else:
        print(summary(report, show=args.show))
        if args.json:
            Path(args.json).write_text(report.json_text() + "\n", encoding="utf-8")
            print(f"  report     {args.json}")
    differs = any(report.diff.counts[kind] for kind in ("changed", "new", "missing"))
    return 2 if args.fail_on_diff and differs else 0


def _catch_up(args: argparse.Namespace) -> int:
    connection()
    registry_connection()
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    agents = load_agents(args.spec)
    named = [a for a in agents if a.name == args.agent]
    if not named:
        found = ", ".join(a.name for a in agents)
        raise ConfigError(f"{args.spec} defines no agent named {args.agent} (it has {found})")
    [agent] = named[:1]
    check_from_earliest([agent], {})
    tune_gc()
    worker = Worker([agent], metrics_port=args.metrics_port, drain_grace_s=args.grace)
    asyncio.run(run_catching_up(worker, out=sys.stderr))
    return 0


def _drop(args: argparse.Namespace) -> int:
    check_access(CLI_TIMEOUT_S)
    topics, subjects = drop_shadow(admin_client(), registry_client(), ShadowNames(args.id))
    for topic in topics:
        print(f"deleted topic {topic}")
    print(f"dropped replay {args.id}: {len(topics)} topic(s), {len(subjects)} subject(s)")
    return 0
