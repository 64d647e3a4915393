"""`hivebus run`: a worker process for one or more agents."""

from __future__ import annotations

import argparse
import asyncio
import logging
from typing import Any

from hivebus.cli.client_settings import key_value
from hivebus.contracts.registry_config import registry_connection
from hivebus.errors import ConfigError
from hivebus.kafka.config import check_settings
from hivebus.kafka.connection import connection
from hivebus.replay.catchup import check_from_earliest, run_catching_up
from hivebus.runtime import Worker
from hivebus.runtime.loader import load_agents
from hivebus.runtime.worker import tune_gc
from hivebus.topology import load_topology, wire
from hivebus.topology.wiring import topology_producer_settings


def register(commands: Any) -> None:
    run = commands.add_parser(
        "run",
        help="run agents in a worker process (graceful on SIGTERM)",
        description=(
            "Run the agents found in each module or file until SIGTERM or Ctrl-C, then drain "
            "in-flight work, commit, and leave the consumer groups. A spec is a Python module "
            "(pkg.agents) or a file (agents/fraud.py), optionally followed by :<agent "
            "variable> to pick one agent; without it every Agent in the module runs. Start the "
            "same command in more containers to add replicas: they split the partitions."
        ),
        epilog="example: hivebus run agents/fraud.py agents/compliance.py --metrics-port 9464",
    )
    run.add_argument(
        "specs", nargs="+", metavar="module-or-file[:agent] | topology.yaml",
        help="agent modules or files, or a topology file (runs the agents it declares, with "
        "its settings)",
    )  # fmt: skip
    run.add_argument(
        "--agent", action="append", default=[], metavar="NAME",
        help="with a topology file: run only this agent (repeatable), as one container does",
    )  # fmt: skip
    run.add_argument("--metrics-port", type=int, help="serve Prometheus metrics on this port")
    run.add_argument(
        "--grace", type=float, default=15.0, metavar="SECONDS",
        help="how long in-flight work may finish on shutdown or revocation (default 15)",
    )  # fmt: skip
    run.add_argument("--heartbeat", type=float, default=10.0, metavar="SECONDS",
                     help="directory heartbeat interval (default 10)")  # fmt: skip
    run.add_argument(
        "--consumer-config", action="append", default=[], metavar="KEY=VALUE", type=key_value,
        help="librdkafka consumer setting for every agent, e.g. max.poll.interval.ms=600000 "
        "(repeatable; overrides hivebus's defaults)",
    )  # fmt: skip
    run.add_argument(
        "--producer-config", action="append", default=[], metavar="KEY=VALUE", type=key_value,
        help="librdkafka producer setting, e.g. linger.ms=20 to batch harder for throughput "
        "(repeatable; hivebus defaults to linger.ms=1, lz4, idempotence)",
    )  # fmt: skip
    run.add_argument(
        "--catch-up", action="store_true",
        help="a new agent: read from the earliest offsets with a progress line (done / total, "
        "rate, ETA) until the end offsets at start are committed, then go on live",
    )  # fmt: skip
    run.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    run.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    # Refused here, in one sentence, before any agent is loaded or said to be running.
    connection()
    registry_connection()
    consumer_overrides, producer_overrides = dict(args.consumer_config), dict(args.producer_config)
    check_settings("consumer", consumer_overrides)
    check_settings("producer", producer_overrides)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    agents = []
    for spec in args.specs:
        if spec.endswith((".yaml", ".yml")):
            wired = wire(load_topology(spec), args.agent or None)
            agents += [each.agent for each in wired]
            shared = topology_producer_settings(wired)
            producer_overrides = {**{k: str(v) for k, v in shared.items()}, **producer_overrides}
        else:
            agents += load_agents(spec)
    if args.agent and not any(spec.endswith((".yaml", ".yml")) for spec in args.specs):
        raise ConfigError("--agent picks agents of a topology file; give one (topology/x.yaml)")
    check_settings("producer", producer_overrides)
    if args.catch_up:
        check_from_earliest(agents, consumer_overrides)
    tune_gc()
    worker = Worker(
        agents, metrics_port=args.metrics_port, drain_grace_s=args.grace,
        heartbeat_s=args.heartbeat, consumer_overrides=consumer_overrides,
        producer_overrides=producer_overrides,
    )  # fmt: skip
    logging.getLogger("hivebus.worker").info(
        "worker %s running %s", worker.instance, ", ".join(a.name for a in agents)
    )
    asyncio.run(run_catching_up(worker) if args.catch_up else worker.run())
    return 0
