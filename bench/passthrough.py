"""Workload (a): pass-through — consume, decode, produce one event per input, encode.

The same pre-loaded input topic is read by every system (each with its own consumer group and
output topic), one system per subprocess, rounds alternating so drift on this noisy machine
hits every system alike. Reported: events/s, CPU seconds per 1,000 events, medians, and the
ratios to both raw loops of the same run.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from bench import feed, runners


def run(
    systems: Sequence[runners.System],
    count: int,
    rounds: int,
    partitions: int = 3,
    keys: int = 10_000,
    say: Any = print,
) -> dict[str, Any]:
    topic = feed.topic("passthrough", partitions)
    say(f"(a) pass-through: preloading {count:,} Avro events into {topic}")
    feed.Feeder().preload_payments(topic, count, keys)
    runs: dict[str, list[dict[str, Any]]] = {s.name: [] for s in systems}
    for round_no in range(1, rounds + 1):
        for system in systems:
            output = feed.topic("passthrough-out", partitions)
            config = {
                "source": topic,
                "output": output,
                "group": f"{output}.{system.name}",
                "count": count,
            }
            result = runners.run(system, "passthrough", config, timeout_s=300)
            feed.delete_topics(output)
            runs[system.name].append(result)
            say(f"    (a) round {round_no} {system.name:<28} {_brief(result)}")
    feed.delete_topics(topic)
    summary: dict[str, dict[str, Any]] = {}
    for name, results in runs.items():
        good = [r for r in results if r.get("finished") and r.get("seconds")]
        if not good:
            first = results[0]
            summary[name] = {
                "note": first.get("unsupported") or first.get("error") or "did not finish"
            }
            continue
        summary[name] = {
            "events_per_s": statistics.median(r["events"] / r["seconds"] for r in good),
            "cpu_s_per_1k": statistics.median(1000 * r["cpu_seconds"] / r["events"] for r in good),
            "us_per_event": statistics.median(1e6 * r["seconds"] / r["events"] for r in good),
        }
    for entry in summary.values():
        for base in ("raw-avro", "raw-bytes"):
            if "events_per_s" in entry and "events_per_s" in summary.get(base, {}):
                entry[f"vs_{base.replace('-', '_')}"] = (
                    entry["events_per_s"] / summary[base]["events_per_s"]
                )
    eos, alo = summary.get("hivebus-eos", {}), summary.get("hivebus", {})
    if "events_per_s" in eos and "events_per_s" in alo:
        eos["vs_hivebus"] = eos["events_per_s"] / alo["events_per_s"]  # target: >= 0.8
    return {
        "workload": "pass-through",
        "count": count,
        "rounds": rounds,
        "partitions": partitions,
        "systems": summary,
    }


def _brief(result: dict[str, Any]) -> str:
    if not result.get("seconds"):
        return result.get("unsupported") or result.get("error") or "no result"
    rate = result["events"] / result["seconds"]
    cpu = 1000 * result["cpu_seconds"] / max(result["events"], 1)
    return f"{rate:>9,.0f} events/s  {cpu:.3f} CPU s per 1k" + (
        "" if result.get("finished") else " (unfinished)"
    )
