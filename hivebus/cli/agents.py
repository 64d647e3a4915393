"""`hivebus agents`: the live agents, from the directory."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from hivebus.contracts import Serde, registry_client
from hivebus.kafka.access import CLI_TIMEOUT_S, check_access
from hivebus.runtime.directory import read_directory


def register(commands: Any) -> None:
    agents = commands.add_parser(
        "agents",
        help="list live agents and what they subscribe to, handle and emit",
        description=(
            "Read the hivebus.directory topic and list each agent with a live instance "
            "(heard from within three heartbeats): version, instances, subscriptions, handled "
            "and emitted event types."
        ),
    )
    agents.add_argument("--all", action="store_true", help="include agents with no live instance")
    agents.set_defaults(handler=_agents)


def _agents(args: argparse.Namespace) -> int:
    check_access(CLI_TIMEOUT_S)  # a refused login fails now, not as an empty answer
    views = read_directory(Serde(registry_client()))
    at = datetime.now(UTC)
    shown = 0
    for name in sorted(views):
        view = views[name]
        live = view.live_instances(at)
        if not live and not args.all:
            continue
        shown += 1
        latest = view.latest
        print(f"{name}  v{latest.version}  {len(live)} live instance(s)  {latest.description}")
        print(f"  subscribes: {', '.join(latest.subscriptions)}")
        print(f"  handles:    {', '.join(latest.handles)}")
        print(f"  emits:      {', '.join(latest.emits) or '-'}")
        print(f"  outputs:    {', '.join(latest.outputs) or '-'}")
        for instance in live:
            print(
                f"  instance {instance.instance}  heartbeat {instance.heartbeat_at}  "
                f"in flight {instance.in_flight}  consumed {instance.consumed}"
            )
    if not shown:
        print("no live agents" if not args.all else "the directory is empty")
    return 0
