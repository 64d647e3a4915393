"""Workload (g): the audit's cost: pass-through with `Audit()` on against the same agent
without it, in the same run.

Both read the same preloaded topic (each its own consumer group and output topic), one
system per subprocess, rounds alternating so drift on this noisy machine hits both alike.
The audited agent writes one decision per event to a fresh audit topic, through its outbox,
and counts as done only when its outputs are acknowledged, as in production (its audit
records too: an input's offset waits for them). Target: at most 10% fewer events/s.
"""

from __future__ import annotations

import statistics
from typing import Any

from bench import feed, runners

TARGET = 0.9  # audit on / audit off, events/s


def run(count: int, rounds: int, partitions: int = 3, keys: int = 10_000,
        say: Any = print) -> dict[str, Any]:  # fmt: skip
    systems = [runners.HIVEBUS, runners.HIVEBUS_AUDIT]
    topic = feed.topic("audit", partitions)
    say(f"(g) audit: preloading {count:,} Avro events into {topic}")
    feed.Feeder().preload_payments(topic, count, keys)
    runs: dict[str, list[dict[str, Any]]] = {s.name: [] for s in systems}
    for round_no in range(1, rounds + 1):
        for system in systems:
            output = feed.topic("audit-out", partitions)
            audit = f"{output}.audit"
            config = {"source": topic, "output": output, "group": f"{output}.{system.name}",
                      "count": count, "audit_topic": audit}  # fmt: skip
            result = runners.run(system, "passthrough", config, timeout_s=300)
            feed.delete_topics(output, audit, f"{audit}.blobs")
            runs[system.name].append(result)
            rate = result["events"] / result["seconds"] if result.get("seconds") else 0.0
            say(f"    (g) round {round_no} {system.name:<16} {rate:>9,.0f} events/s")
    feed.delete_topics(topic)
    summary: dict[str, dict[str, Any]] = {}
    for name, results in runs.items():
        good = [r for r in results if r.get("finished") and r.get("seconds")]
        if not good:
            first = results[0]
            summary[name] = {"note": first.get("error") or "did not finish"}
            continue
        summary[name] = {
            "events_per_s": statistics.median(r["events"] / r["seconds"] for r in good),
            "cpu_s_per_1k": statistics.median(1000 * r["cpu_seconds"] / r["events"] for r in good),
            "loop_cpu_us": statistics.median(
                1e6 * r.get("thread_cpu_seconds", 0.0) / r["events"] for r in good
            ),
            "rounds": [r["events"] / r["seconds"] for r in good],
        }
    on, off = summary.get("hivebus-audit", {}), summary.get("hivebus", {})
    ratio = None
    if "events_per_s" in on and "events_per_s" in off:
        ratio = on["events_per_s"] / off["events_per_s"]
    return {
        "workload": "audit", "count": count, "rounds": rounds, "partitions": partitions,
        "systems": summary, "ratio": ratio, "target": TARGET,
        "paired": paired(runs["hivebus"], runs["hivebus-audit"]),
    }  # fmt: skip


def paired(off: list[dict[str, Any]], on: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Each round's on / off, the two run one after the other (drift on this machine moves
    both), and their median: steadier than the ratio of the two medians."""
    ratios = [
        (b["events"] / b["seconds"]) / (a["events"] / a["seconds"])
        for a, b in zip(off, on, strict=False)
        if a.get("finished") and b.get("finished") and a.get("seconds") and b.get("seconds")
    ]
    if not ratios:
        return None
    return {"median": statistics.median(ratios), "rounds": ratios,
            "met": sum(r >= TARGET for r in ratios)}  # fmt: skip
