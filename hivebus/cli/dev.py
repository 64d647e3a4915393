"""`hivebus dev`: run the local Kafka + schema registry stack."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from hivebus.contracts.endpoints import REGISTRY_ENV
from hivebus.dev import LocalStack, external_endpoints, smoke
from hivebus.dev.demos import DEMOS
from hivebus.dev.health import kafka_ok, registry_ok
from hivebus.dev.java import find_java
from hivebus.kafka.endpoints import BOOTSTRAP_ENV


def register(commands: Any) -> None:
    dev = commands.add_parser(
        "dev",
        help="run the local Kafka + schema registry stack",
        description=(
            "Run Apache Kafka (KRaft, one node) and Apicurio Registry (Confluent-compatible) as "
            "local processes from pinned Maven artifacts. Artifacts are cached in "
            "~/.cache/hivebus (HIVEBUS_CACHE_DIR); data, logs and pid files live in ./.hivebus "
            "(HIVEBUS_STATE_DIR). Ports: HIVEBUS_DEV_KAFKA_PORT (19092), "
            "HIVEBUS_DEV_CONTROLLER_PORT (19093), HIVEBUS_DEV_REGISTRY_PORT (18081), "
            "HIVEBUS_DEV_REGISTRY_MANAGEMENT_PORT (18082). When KAFKA_BOOTSTRAP_SERVERS and "
            "SCHEMA_REGISTRY_URL are set, that cluster is used and nothing is started."
        ),
    )
    sub = dev.add_subparsers(dest="dev_command", metavar="<action>", required=True)
    sub.add_parser("up", help="start the stack (a no-op when it is running)").set_defaults(
        handler=_up
    )
    sub.add_parser("down", help="stop the processes `up` started").set_defaults(handler=_down)
    status = sub.add_parser(
        "status", help="health, pid and memory of each part; exit 1 if unhealthy"
    )
    status.add_argument("--json", action="store_true", help="print machine-readable JSON")
    status.set_defaults(handler=_status)
    logs = sub.add_parser("logs", help="show a part's log")
    logs.add_argument("part", nargs="?", choices=["kafka", "registry"], default="kafka")
    logs.add_argument("-n", "--lines", type=int, default=50, help="lines to show (default 50)")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    logs.set_defaults(handler=_logs)
    sub.add_parser(
        "env", help="print the export lines that point clients at the stack"
    ).set_defaults(handler=_env)
    sub.add_parser(
        "java", help="print the Java the stack would use; exit 1 if none fits"
    ).set_defaults(handler=_java)
    smoke_cmd = sub.add_parser(
        "smoke", help="create a topic, register a contract, produce and consume Avro events"
    )
    smoke_cmd.add_argument("--count", type=int, default=3, help="events to round-trip (default 3)")
    smoke_cmd.set_defaults(handler=_smoke)
    demo = sub.add_parser(
        "demo",
        help=f"an example end to end: {', '.join(DEMOS)} (default fraud)",
        description="\n".join(f"{d.name}: {d.shows}." for d in DEMOS.values()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument(
        "example", nargs="?", choices=tuple(DEMOS), default="fraud",
        help="which example (default fraud)",
    )  # fmt: skip
    demo.add_argument(
        "--agents", type=Path, default=Path("agents"), help="folder (default agents/)"
    )
    demo.add_argument(
        "--count", type=int, default=None,
        help="fraud: transactions per phase (default 30); market: opportunities (default 24)",
    )  # fmt: skip
    demo.set_defaults(handler=_demo)


def _up(args: argparse.Namespace) -> int:
    if external := external_endpoints():
        print(
            f"{BOOTSTRAP_ENV} and {REGISTRY_ENV} are set: using {external.bootstrap_servers} "
            f"and {external.registry_url}; nothing to start."
        )
        return _check_external()
    stack = LocalStack()
    report = stack.up()
    if not report.started:
        print("the local stack is already running")
    for name, seconds in report.seconds.items():
        print(f"  {name:<9} ready in {seconds:5.1f} s")
    print(f"Kafka:           {report.endpoints.bootstrap_servers}")
    print(f"Schema registry: {report.endpoints.registry_url}")
    print(f"Logs and data:   {stack.settings.state_dir}    (stop with `hivebus dev down`)")
    return 0


def _down(args: argparse.Namespace) -> int:
    if external_endpoints():
        print("an external cluster is configured; `down` stops only a local stack")
    stopped = LocalStack().down()
    print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")
    return 0


def _status(args: argparse.Namespace) -> int:
    if external_endpoints():
        return _check_external()
    parts = LocalStack().status()
    if args.json:
        print(json.dumps([part.__dict__ for part in parts], indent=2))
    else:
        for part in parts:
            state = "healthy" if part.healthy else ("unhealthy" if part.pid else "stopped")
            memory = f"{part.rss_mb:6.0f} MiB" if part.rss_mb else "      -   "
            print(f"{part.name:<9} {state:<9} pid {part.pid or '-':<7} {memory}  {part.endpoint}")
    return 0 if all(part.healthy for part in parts) else 1


def _logs(args: argparse.Namespace) -> int:
    stack = LocalStack()
    part = stack.kafka if args.part == "kafka" else stack.registry
    if not part.log_file.exists():
        print(f"no log yet at {part.log_file}", file=sys.stderr)
        return 1
    command = (
        ["tail", "-n", str(args.lines)] + (["-F"] if args.follow else []) + [str(part.log_file)]
    )
    return subprocess.call(command)


def _env(args: argparse.Namespace) -> int:
    stack = LocalStack()
    print(f"export {BOOTSTRAP_ENV}={stack.endpoints.bootstrap_servers}")
    print(f"export {REGISTRY_ENV}={stack.endpoints.registry_url}")
    return 0


def _java(args: argparse.Namespace) -> int:
    java = find_java()
    print(f"{java.path} (Java {java.major})")
    return 0


def _smoke(args: argparse.Namespace) -> int:
    endpoints = external_endpoints() or LocalStack().endpoints
    smoke.run(endpoints, count=args.count)
    return 0


def _demo(args: argparse.Namespace) -> int:
    DEMOS[args.example].run(args.agents, args.count)
    return 0


def _check_external() -> int:
    external = external_endpoints()
    assert external is not None
    checks = {
        f"kafka    {external.bootstrap_servers}": kafka_ok(external.bootstrap_servers),
        f"registry {external.registry_url}": registry_ok(external.registry_url),
    }
    for name, ok in checks.items():
        print(f"{name}: {'healthy' if ok else 'NOT reachable'}")
    return 0 if all(checks.values()) else 1
