"""`hivebus topology plan|apply|...`: bring a cluster and registry in line with a topology file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from hivebus.cli import topology_export, topology_render
from hivebus.contracts import Serde, registry_client
from hivebus.contracts.endpoints import registry_url
from hivebus.kafka.admin import admin_client
from hivebus.kafka.endpoints import bootstrap_servers
from hivebus.runtime.directory import read_directory
from hivebus.topology import load_topology, wire
from hivebus.topology.apply import apply_plan
from hivebus.topology.plan import Plan, make_plan

NO_CHANGES, CHANGES, FAILED = 0, 2, 1


def register(commands: Any) -> None:
    topology = commands.add_parser(
        "topology",
        help="plan and apply topology/*.yaml: topics, contracts and agents as code",
        description=(
            "A topology file declares topics (partitions, retention, cleanup), contracts (Avro "
            "files and the topics they are written to, with a compatibility level) and agents "
            "(module, replicas, settings). `plan` shows what differs from the live cluster and "
            "registry; `apply` makes those changes. See docs/topology.md."
        ),
    )
    actions = topology.add_subparsers(dest="topology_command", metavar="<action>", required=True)
    plan = actions.add_parser(
        "plan",
        help="show what apply would change; exit 0 no changes, 2 changes, 1 problems",
        description=(
            "Compare the topology with the live cluster and registry and print each change "
            "apply would make: + create, ~ change; problems (partitions decreased, a contract "
            "the registry would refuse) are marked !. Exit codes follow terraform's "
            "--detailed-exitcode: 0 nothing to do, 2 changes to make, 1 problems or errors."
        ),
        epilog="example: hivebus topology plan topology/payments.yaml",
    )
    plan.add_argument("file", type=Path, help="the topology YAML file")
    plan.set_defaults(handler=_plan)
    apply = actions.add_parser(
        "apply",
        help="make the planned changes (idempotent; nothing destructive without --allow-destroy)",
        description=(
            "Plan, then make every change: topics created and grown, configs set, compatibility "
            "levels set, schemas registered. Nothing is changed when the plan has a problem, or "
            "when a change would delete data (shorter retention, leaving compaction) and "
            "--allow-destroy is not given. The broker validates every topic change before any "
            "is made. Applying the same file again changes nothing."
        ),
        epilog="example: hivebus topology apply topology/payments.yaml",
    )
    apply.add_argument("file", type=Path, help="the topology YAML file")
    apply.add_argument(
        "--allow-destroy", action="store_true",
        help="allow changes that delete data (shorter retention, compaction turned off)",
    )  # fmt: skip
    apply.set_defaults(handler=_apply)
    check = actions.add_parser(
        "check",
        help="validate the file and its agents' wiring offline (no cluster needed)",
        description=(
            "Load the file, the contracts it names and the agent modules, and check the wiring: "
            "every agent's outputs are declared topics, its subscriptions match declared topics."
        ),
    )
    check.add_argument("file", type=Path, help="the topology YAML file")
    check.set_defaults(handler=_check)
    topology_export.register(actions)
    topology_render.register(actions)


def _check(args: argparse.Namespace) -> int:
    loaded = load_topology(args.file)
    wired = wire(loaded)
    topology = loaded.topology
    print(
        f"{args.file}: topology {topology.name!r} is valid: {len(topology.topics)} topic(s), "
        f"{len(topology.contracts)} contract(s), {len(wired)} agent(s)"
    )
    for agent in wired:
        print(f"  {agent.name}: reads {', '.join(agent.reads) or '-'}; "
              f"writes {', '.join(agent.writes) or '-'}")  # fmt: skip
    return 0


def _plan(args: argparse.Namespace) -> int:
    loaded = load_topology(args.file)
    wired = wire(loaded)
    print(f"topology {loaded.topology.name!r} ({args.file}) against {bootstrap_servers()} "
          f"and {registry_url()}")  # fmt: skip
    plan = make_plan(loaded, admin_client(), registry_client())
    _print_plan(plan)
    _print_agents(wired)
    if plan.problems:
        return FAILED
    return CHANGES if plan.changes else NO_CHANGES


def _apply(args: argparse.Namespace) -> int:
    loaded = load_topology(args.file)
    wire(loaded)
    admin, registry = admin_client(), registry_client()
    plan = make_plan(loaded, admin, registry)
    _print_plan(plan)
    if not plan.changes and not plan.problems:
        return 0
    made = apply_plan(plan, admin, registry, allow_destroy=args.allow_destroy)
    print(f"Applied {made} change(s).")
    return 0


def _print_plan(plan: Plan) -> None:
    targets = [c.target for c in plan.changes] + [p.target for p in plan.problems]
    width = max((len(target) for target in targets), default=0)
    for change in plan.changes:
        kind = "topic" if "topic" in change.kind or "config" in change.kind else "subject"
        if change.kind == "add_partitions":
            kind = "topic"
        flag = "  (destroys data: needs --allow-destroy)" if change.destructive else ""
        print(f"  {change.symbol} {kind:<7} {change.target:<{width}}  {change.summary}{flag}")
    for problem in plan.problems:
        print(f"  ! {'problem':<7} {problem.target:<{width}}  {problem.message}")
    if not plan.changes and not plan.problems:
        print("No changes: the cluster and registry match the topology.")
        return
    adds = sum(change.symbol == "+" for change in plan.changes)
    print(f"Plan: {adds} to add, {len(plan.changes) - adds} to change, "
          f"{len(plan.problems)} problem(s).")  # fmt: skip


def _print_agents(wired: list[Any]) -> None:
    """Agents are run, not applied: say which already run, from the directory."""
    try:
        directory = read_directory(Serde(registry_client()), timeout_s=5.0)
    except Exception:  # the plan stands without it; the directory only informs
        directory = {}
    print("agents (run with `hivebus run <file>`):")
    for agent in wired:
        view = directory.get(agent.name)
        status = "new: not seen in the directory" if view is None else "known to the directory"
        print(f"    {agent.name}: {status}; reads {', '.join(agent.reads) or '-'}; "
              f"writes {', '.join(agent.writes) or '-'}")  # fmt: skip
