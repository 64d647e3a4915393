"""`hivebus runs list|show|signal|cancel|resume`: durable runs, from their journals."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from hivebus import durable
from hivebus.contracts import Serde, registry_client
from hivebus.durable import RunJournal
from hivebus.durable.reader import durable_agents, read_journals
from hivebus.errors import HivebusError
from hivebus.kafka.access import CLI_TIMEOUT_S, check_access

STATES = ["pending", "running", "sleeping", "waiting", "completed", "failed", "parked", "cancelled"]


def register(commands: Any) -> None:
    runs = commands.add_parser(
        "runs",
        help="list, inspect, signal or cancel durable runs",
        description=(
            "Each event a durable agent handles starts a run; its steps are journaled on "
            "hivebus.journal.<agent>. These commands read the journals and send requests to "
            "hivebus.runs.<agent>."
        ),
    )
    sub = runs.add_subparsers(dest="runs_command", metavar="<action>", required=True)
    listing = sub.add_parser("list", help="one line per run: state, steps, times")
    listing.add_argument("--agent", help="only this agent's runs (default: every durable agent)")
    listing.add_argument("--state", choices=STATES, help="only runs in this state")
    listing.set_defaults(handler=_list)
    show = sub.add_parser("show", help="one run's state and steps, with their durations")
    show.add_argument("run", help="the run id (`hivebus runs list` shows them)")
    show.add_argument("--agent", help="the run's agent (default: looked up)")
    show.set_defaults(handler=_show)
    signal = sub.add_parser(
        "signal",
        help="send a signal to a run (what its ctx.wait_for waits for)",
        description="A signal that comes before the run waits for it is kept until it does.",
    )
    signal.add_argument("agent")
    signal.add_argument("run")
    signal.add_argument("name", help="the signal's name, as the handler waits for it")
    signal.add_argument("--json", default="null", help="the payload, as JSON (default: null)")
    signal.set_defaults(handler=_signal)
    for action, text in (("cancel", "cancel a run"), ("resume", "run a parked run again")):
        command = sub.add_parser(action, help=text)
        command.add_argument("agent")
        command.add_argument("run")
        command.set_defaults(handler=_control, action=action)


def _list(args: argparse.Namespace) -> int:
    check_access(CLI_TIMEOUT_S)  # a refused login fails now, not as an empty answer
    serde = Serde(registry_client())
    agents = [args.agent] if args.agent else durable_agents()
    rows = []
    for agent in agents:
        for journal in read_journals(serde, agent).values():
            if args.state is None or journal.state == args.state:
                rows.append([agent, journal.run_id, _state(journal), str(len(journal.steps)),
                             journal.started_at, journal.updated_at])  # fmt: skip
    rows.sort(key=lambda row: row[4])
    _table(["AGENT", "RUN", "STATE", "STEPS", "STARTED", "UPDATED"], rows)
    print(f"{len(rows)} run(s)")
    return 0


def _show(args: argparse.Namespace) -> int:
    check_access(CLI_TIMEOUT_S)  # a refused login fails now, not as an empty answer
    serde = Serde(registry_client())
    for agent in [args.agent] if args.agent else durable_agents():
        journal = read_journals(serde, agent).get(args.run)
        if journal is not None:
            break
    else:
        raise HivebusError(f"no run {args.run!r} in any journal" + (
            f" of {args.agent}" if args.agent else ""))  # fmt: skip
    print(f"run      {journal.run_id}")
    print(f"agent    {journal.agent}")
    print(f"state    {_state(journal)}")
    print(f"event    {journal.topic}[{journal.partition}]@{journal.offset}")
    print(f"started  {journal.started_at}   updated {journal.updated_at}")
    if journal.detail:
        print(f"detail   {journal.detail}")
    if journal.signals:
        print(f"signals  kept for a wait: {', '.join(sorted(journal.signals))}")
    rows = [
        [str(s.seq + 1), s.name, s.outcome, f"{s.duration_ms:.1f} ms", str(s.attempts),
         f"{s.prompt_tokens}+{s.completion_tokens}" if s.llm_requests else "-",
         _brief(s.value) if s.outcome == "ok" else f"{s.error_type}: {s.error}"]
        for s in sorted(journal.steps, key=lambda step: step.seq)
    ]  # fmt: skip
    print()
    _table(["#", "STEP", "OUTCOME", "TOOK", "ATTEMPTS", "TOKENS", "RESULT"], rows)
    used = [s for s in journal.steps if s.llm_requests]
    if used:
        prompt, completion = (
            sum(s.prompt_tokens for s in used),
            sum(s.completion_tokens for s in used),
        )
        requests = sum(s.llm_requests for s in used)
        print(f"\n{requests} LLM request(s): {prompt} prompt + {completion} completion tokens")
    return 0


def _signal(args: argparse.Namespace) -> int:
    check_access(CLI_TIMEOUT_S)  # a refused login fails now, not as an empty answer
    try:
        payload = json.loads(args.json)
    except json.JSONDecodeError as error:
        raise HivebusError(f"--json is not JSON: {error}") from None
    asyncio.run(durable.signal(args.agent, args.run, args.name, payload))
    print(f"sent signal {args.name!r} to run {args.run} of {args.agent}")
    return 0


def _control(args: argparse.Namespace) -> int:
    check_access(CLI_TIMEOUT_S)  # a refused login fails now, not as an empty answer
    send = durable.cancel if args.action == "cancel" else durable.resume
    asyncio.run(send(args.agent, args.run))
    print(f"asked run {args.run} of {args.agent} to {args.action}")
    return 0


def _state(journal: RunJournal) -> str:
    if journal.state == "sleeping" and journal.wake_at:
        return f"sleeping until {journal.wake_at}"
    if journal.state == "waiting" and journal.waiting_for:
        signal = journal.waiting_for.rpartition("@")[0]
        until = f" (until {journal.wake_at})" if journal.wake_at else ""
        return f"waiting for {signal}{until}"
    return journal.state


def _brief(value: bytes | None, width: int = 60) -> str:
    text = (value or b"").decode(errors="replace")
    return text if len(text) <= width else text[: width - 1] + "…"


def _table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=False)]
    for row in [header, *rows]:
        print(
            "  ".join(
                str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)
            ).rstrip()
        )
