"""`hivebus dlq list|replay`: inspect an agent's dead letters and send them back once fixed."""

from __future__ import annotations

import argparse
from typing import Any

from hivebus.kafka.access import CLI_TIMEOUT_S, check_access
from hivebus.runtime.dlq_reader import read_dead_letters, replay


def register(commands: Any) -> None:
    dlq = commands.add_parser(
        "dlq",
        help="list or replay an agent's dead letters (hivebus.dlq.<agent>)",
        description=(
            "Dead letters keep the original record bytes plus hivebus_error_* headers naming "
            "the error, the attempts and the source topic, partition and offset."
        ),
    )
    sub = dlq.add_subparsers(dest="dlq_command", metavar="<action>", required=True)
    show = sub.add_parser("list", help="print each dead letter with its error")
    show.add_argument("agent")
    show.add_argument("--pending", action="store_true", help="only those not yet replayed")
    show.set_defaults(handler=_list)
    again = sub.add_parser(
        "replay",
        help="send the not-yet-replayed dead letters back to their source topics",
        description=(
            "Produce each dead letter not replayed before to its source topic with its "
            "original key, value and headers, then remember how far replay got."
        ),
    )
    again.add_argument("agent")
    again.add_argument("--dry-run", action="store_true", help="show what would be replayed")
    again.set_defaults(handler=_replay)


def _list(args: argparse.Namespace) -> int:
    check_access(CLI_TIMEOUT_S)  # a refused login fails now, not as an empty answer
    count = 0
    for letter in read_dead_letters(args.agent, unreplayed_only=args.pending):
        count += 1
        e = letter.error
        source = f"{e.get('topic')}[{e.get('partition')}]@{e.get('offset')}"
        key = (letter.key or b"").decode(errors="replace") or "-"
        print(
            f"#{letter.partition}:{letter.offset} from {source} key={key} "
            f"{e.get('kind')}/{e.get('type')} after {e.get('attempts')} attempt(s): "
            f"{e.get('message')}  ({len(letter.value or b'')} bytes)"
        )
    print(f"{count} dead letter(s) for {args.agent}")
    return 0


def _replay(args: argparse.Namespace) -> int:
    check_access(CLI_TIMEOUT_S)  # a refused login fails now, not as an empty answer
    letters = replay(args.agent, dry_run=args.dry_run)
    verb = "would replay" if args.dry_run else "replayed"
    for letter in letters:
        print(f"{verb} #{letter.partition}:{letter.offset} -> {letter.error.get('topic')}")
    print(f"{verb} {len(letters)} dead letter(s) for {args.agent}")
    return 0
