"""`make bench` (`python -m bench`): the benchmarks, with results written to bench/results/.

Runs on whatever stack the environment names (the local `hivebus dev` stack by default, which
it starts if needed). Every figure is reported next to baselines measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench import (
    audit,
    durable,
    gateway,
    latency,
    matrix,
    passthrough,
    patterns,
    runners,
    serde_cost,
    slow,
)
from bench.report import render
from hivebus.dev import LocalStack, external_endpoints

RESULTS = Path(__file__).parent / "results"
WORKLOADS = (
    "passthrough",
    "target",
    "slow",
    "contracts",
    "latency",
    "durable",
    "patterns",
    "gateway",
    "audit",
)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller runs (a few minutes)")
    parser.add_argument("--only", choices=WORKLOADS, action="append", help="run these workloads")
    parser.add_argument("--no-peers", action="store_true", help="hivebus and the raw loops only")
    args = parser.parse_args()
    if external_endpoints() is None:
        LocalStack().up()
    chosen = args.only or list(WORKLOADS)
    systems = [runners.RAW_BYTES, runners.RAW_AVRO, runners.HIVEBUS]
    if not args.no_peers:
        systems += runners.PEERS
    started = time.time()
    results: dict[str, Any] = {"environment": _environment(), "quick": args.quick, "workloads": []}
    add = results["workloads"].append
    if "passthrough" in chosen:
        count, rounds = (20_000, 1) if args.quick else (50_000, 3)
        with_eos = [*systems[:3], runners.HIVEBUS_EOS, *systems[3:]]
        add(passthrough.run(with_eos, count, rounds))
    if "target" in chosen:
        add(slow.run())
    if "slow" in chosen:
        job_systems = [s for s in systems if s is not runners.RAW_BYTES]
        job_systems.insert(2, runners.HIVEBUS_UNORDERED)
        add(matrix.run(job_systems, quick=args.quick))
    if "contracts" in chosen:
        add(serde_cost.run(quick=args.quick))
    if "latency" in chosen:
        add(latency.run([s for s in systems if s is not runners.RAW_BYTES], quick=args.quick))
    if "durable" in chosen:
        add(durable.run(rounds=1 if args.quick else 2, peers=not args.no_peers))
    if "patterns" in chosen:
        add(patterns.run(quick=args.quick, peers=not args.no_peers))
    if "gateway" in chosen:
        add(gateway.run(quick=args.quick))
    if "audit" in chosen:
        # Longer and more rounds than pass-through: a 10% difference is the question here,
        # and one run of 50,000 events lasts about a second on this machine.
        count, rounds = (20_000, 2) if args.quick else (100_000, 5)
        add(audit.run(count, rounds))
    results["seconds"] = time.time() - started
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    data, markdown = json.dumps(results, indent=2), render(results)
    for name in (stamp, "latest"):
        (RESULTS / f"{name}.json").write_text(data)
        (RESULTS / f"{name}.md").write_text(markdown)
    print("\n" + markdown)
    print(f"written: bench/results/{stamp}.md and .json (also latest.md and .json)")
    return 0


def _environment() -> dict[str, Any]:
    import confluent_kafka

    from hivebus.kafka.endpoints import bootstrap_servers

    return {
        "cpus": os.cpu_count(),
        "machine": platform.platform(),
        "python": sys.version.split()[0],
        "confluent-kafka": version("confluent-kafka"),
        "librdkafka": confluent_kafka.libversion()[0],
        "fastavro": version("fastavro"),
        "pydantic": version("pydantic"),
        "bootstrap": bootstrap_servers(),
    }


if __name__ == "__main__":
    sys.exit(main())
