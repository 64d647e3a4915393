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

from bench import passthrough, slow
from hivebus.dev import LocalStack, external_endpoints

RESULTS = Path(__file__).parent / "results"


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller runs (a few minutes)")
    parser.add_argument("--only", choices=["passthrough", "slow"], help="run one workload")
    args = parser.parse_args()
    if external_endpoints() is None:
        LocalStack().up()
    started = time.time()
    results: dict[str, Any] = {"environment": _environment(), "quick": args.quick, "workloads": []}
    if args.only in (None, "passthrough"):
        count, rounds = (20_000, 2) if args.quick else (100_000, 3)
        results["workloads"].append(passthrough.run(count, rounds))
    if args.only in (None, "slow"):
        results["workloads"].append(slow.run())
    results["seconds"] = time.time() - started
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"{stamp}.json").write_text(json.dumps(results, indent=2))
    markdown = render(results)
    (RESULTS / f"{stamp}.md").write_text(markdown)
    (RESULTS / "latest.md").write_text(markdown)
    print("\n" + markdown)
    print(f"written: bench/results/{stamp}.md and .json")
    return 0


def render(results: dict[str, Any]) -> str:
    env = results["environment"]
    lines = [
        f"# hivebus benchmarks ({'quick' if results['quick'] else 'full'} run, "
        f"{results['seconds']:.0f} s)",
        "",
        f"Machine: {env['cpus']} CPUs, {env['machine']}, Python {env['python']}; "
        f"confluent-kafka {env['confluent-kafka']} (librdkafka {env['librdkafka']}), "
        f"fastavro {env['fastavro']}, pydantic {env['pydantic']}; broker {env['bootstrap']}.",
        "",
    ]
    for workload in results["workloads"]:
        if workload["workload"] == "pass-through":
            lines += [
                f"## (a) pass-through: {workload['count']:,} events, "
                f"{workload['partitions']} partitions, "
                f"median of {workload['rounds']} alternating rounds",
                "",
                "| system | events/s | µs/event | CPU s per 1k events "
                "| vs raw Avro loop | vs raw bytes loop |",
                "| --- | ---: | ---: | ---: | ---: | ---: |",
            ]
            for name, s in workload["systems"].items():
                lines.append(
                    f"| {name} | {s['events_per_s']:,.0f} | {s['us_per_event']:.1f} | "
                    f"{s['cpu_s_per_1k']:.3f} | {s['vs_raw_avro']:.2f}x | "
                    f"{s['vs_raw_bytes']:.3f}x |"
                )
            lines.append("")
        else:
            lines += [
                f"## (b) slow handler: {workload['count']:,} events, 1 partition, "
                "1,000 keys, 200 ms each",
                "",
                "| events/s | ideal | fraction of ideal | per-key order violations |",
                "| ---: | ---: | ---: | ---: |",
                f"| {workload['events_per_s']:,.0f} | {workload['ideal_events_per_s']:,.0f} | "
                f"{workload['fraction_of_ideal']:.2f} | {workload['order_violations']} |",
                "",
            ]
    return "\n".join(lines)


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
