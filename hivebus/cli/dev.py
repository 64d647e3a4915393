"""`hivebus dev`: run the local Kafka + schema registry stack."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from hivebus.contracts.endpoints import REGISTRY_ENV
from hivebus.contracts.registry_config import registry_connection
from hivebus.dev import LocalStack, external_endpoints, smoke
from hivebus.dev.demos import DEMOS
from hivebus.dev.health import kafka_ok, registry_ok
from hivebus.dev.java import find_java
from hivebus.dev.settings import StackSettings
from hivebus.errors import ConfigError
from hivebus.kafka.connection import connection, connection_settings
from hivebus.kafka.endpoints import BOOTSTRAP_ENV
from hivebus.kafka.properties import read_properties
from hivebus.kafka.secrets import mask_url, shown
from hivebus.kafka.sources import CONFIG_ENV


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
            "HIVEBUS_DEV_REGISTRY_MANAGEMENT_PORT (18082). When a cluster is configured "
            "(KAFKA_BOOTSTRAP_SERVERS and SCHEMA_REGISTRY_URL, or both in the HIVEBUS_KAFKA_CONFIG "
            "file; docs/connections.md), that cluster is used and nothing is started."
        ),
    )
    sub = dev.add_subparsers(dest="dev_command", metavar="<action>", required=True)
    up = sub.add_parser("up", help="start the stack (a no-op when it is running)")
    up.set_defaults(handler=_up)
    down = sub.add_parser("down", help="stop the processes `up` started")
    down.set_defaults(handler=_down)
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
    env = sub.add_parser("env", help="print the export lines that point clients at the stack")
    env.set_defaults(handler=_env)
    for action in (up, down, status, logs, env):
        action.add_argument(
            "--secure", action="store_true",
            help="the secure stack: Kafka with SASL_SSL (SCRAM-SHA-512 over TLS) on ports "
            "29092/29093, its registry on 28081/28082, state in ./.hivebus-secure "
            "(HIVEBUS_SECURE_STATE_DIR); it runs beside the plain one",
        )  # fmt: skip
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
    demo.add_argument(
        "--serve", action="store_true",
        help="gateway: keep the gateway and its agent up afterwards (the dashboard), "
        "until Ctrl-C",
    )  # fmt: skip
    demo.set_defaults(handler=_demo)


def _stack(args: argparse.Namespace) -> LocalStack:
    return LocalStack(StackSettings.from_env(secure=args.secure))


def _up(args: argparse.Namespace) -> int:
    if not args.secure and (external := external_endpoints()):
        print(
            f"a cluster is configured ({BOOTSTRAP_ENV} and {REGISTRY_ENV}, or {CONFIG_ENV}): "
            f"using {external.bootstrap_servers} and {mask_url(external.registry_url)}; "
            "nothing to start."
        )
        return _check_external()
    stack = _stack(args)
    report = stack.up()
    if not report.started:
        print("the local stack is already running")
    for name, seconds in report.seconds.items():
        print(f"  {name:<9} ready in {seconds:5.1f} s")
    flag, protocol = (" --secure", " (SASL_SSL)") if args.secure else ("", "")
    print(f"Kafka:           {report.endpoints.bootstrap_servers}{protocol}")
    print(f"Schema registry: {report.endpoints.registry_url}")
    print(f"Logs and data:   {stack.settings.state_dir}    (stop with `hivebus dev down{flag}`)")
    if stack.kafka.secure:
        print(f"Client config:   {stack.kafka.secure.client_file}")
        print(f'                 (point clients at it: eval "$(hivebus dev env{flag})")')
    return 0


def _down(args: argparse.Namespace) -> int:
    if not args.secure and external_endpoints():
        print("an external cluster is configured; `down` stops only a local stack")
    stopped = _stack(args).down()
    print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")
    return 0


def _status(args: argparse.Namespace) -> int:
    if not args.secure and external_endpoints():
        return _check_external()
    parts = _stack(args).status()
    if args.json:
        print(json.dumps([part.__dict__ for part in parts], indent=2))
    else:
        for part in parts:
            state = "healthy" if part.healthy else ("unhealthy" if part.pid else "stopped")
            memory = f"{part.rss_mb:6.0f} MiB" if part.rss_mb else "      -   "
            print(f"{part.name:<9} {state:<9} pid {part.pid or '-':<7} {memory}  {part.endpoint}")
    return 0 if all(part.healthy for part in parts) else 1


def _logs(args: argparse.Namespace) -> int:
    stack = _stack(args)
    part = stack.kafka if args.part == "kafka" else stack.registry
    if not part.log_file.exists():
        print(f"no log yet at {part.log_file}", file=sys.stderr)
        return 1
    command = (
        ["tail", "-n", str(args.lines)] + (["-F"] if args.follow else []) + [str(part.log_file)]
    )
    return subprocess.call(command)


def _env(args: argparse.Namespace) -> int:
    stack = _stack(args)
    print(f"export {BOOTSTRAP_ENV}={stack.endpoints.bootstrap_servers}")
    print(f"export {REGISTRY_ENV}={stack.endpoints.registry_url}")
    secure = stack.kafka.secure
    if secure is None:
        if current := os.environ.get(CONFIG_ENV):
            print(f"# {CONFIG_ENV} is set ({current}): its settings apply on top of these;")
            print(f"# `unset {CONFIG_ENV}` to use the plain stack")
        return 0
    print(f"export {CONFIG_ENV}={secure.client_file}")
    if secure.client_file.exists():  # secrets are in the file, never on the screen
        for setting in read_properties(secure.client_file):
            print(f"#   {setting.key}={shown(setting.key, setting.value)}")
    else:
        print("# (written by `hivebus dev up --secure`)")
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
    demo = DEMOS[args.example]
    if args.serve and not demo.serves:
        serving = ", ".join(d.name for d in DEMOS.values() if d.serves)
        raise ConfigError(f"--serve is for the demos that serve something ({serving}), "
                          f"not {demo.name!r}")  # fmt: skip
    if demo.serves:
        demo.run(args.agents, args.count, serve=args.serve)
    else:
        demo.run(args.agents, args.count)
    return 0


def _check_external() -> int:
    external = external_endpoints()
    assert external is not None
    kafka, registry = connection(), registry_connection()
    security = connection_settings("admin")
    checks = {
        f"kafka    {external.bootstrap_servers}": kafka_ok(
            external.bootstrap_servers, security=security
        ),
        f"registry {mask_url(external.registry_url)}": registry_ok(
            external.registry_url, client=registry.config()
        ),
    }
    for name, ok in checks.items():
        print(f"{name}: {'healthy' if ok else 'NOT reachable'}")
    print("connection settings (secrets masked):")
    for line in (*kafka.lines(), *registry.lines()):
        print(f"  {line}")
    return 0 if all(checks.values()) else 1
