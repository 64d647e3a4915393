"""Workload (b): slow (LLM-like) handlers, sweeping keys and partitions, for every system.

Each cell preloads `count` jobs (lognormal delay, median 200 ms, long tail), runs one system
until every result is acknowledged or the cell's time cap passes, and watches the results
topic. Reported per cell: throughput, end-to-end latency p50/p99 (publish to result visible),
per-key order violations (a key's job started before an earlier job of the same key).
Then the head-of-line scenario: one key of 2 s jobs among fast keys of 20 ms on one partition,
and how long the fast keys wait.
"""

from __future__ import annotations

import itertools
import statistics
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from bench import feed, runners
from bench.contracts import Job
from bench.observe import Seen
from bench.session import CONCURRENCY, Session, measure

CELLS_FULL = [(k, p) for p in (1, 6) for k in (1, 10, 100, 1000)]
CELLS_QUICK = [(100, 1), (1000, 6)]


def run(systems: Sequence[runners.System], *, quick: bool, say: Any = print) -> dict[str, Any]:
    count, cap = (300, 20.0) if quick else (1000, 30.0)
    cells = CELLS_QUICK if quick else CELLS_FULL
    results: list[dict[str, Any]] = []
    bounds: list[dict[str, Any]] = []
    for keys, partitions in cells:
        batch = feed.jobs(count, keys, median_ms=200)
        bounds.append({"keys": keys, "partitions": partitions, **floors(batch, CONCURRENCY)})
        for system in systems:
            result = _cell(system, batch, partitions, cap)
            result.update(keys=keys, partitions=partitions)
            results.append(result)
            say(f"    (b) {keys:>4} keys {partitions} part. {system.name:<28} {_brief(result)}")
    hol = [_head_of_line(system, cap) for system in systems]
    for result in hol:
        say(f"    (b) head-of-line {result['system']:<28} {_brief(result)}")
    return {
        "workload": "slow-matrix",
        "count": count,
        "cap_s": cap,
        "concurrency": CONCURRENCY,
        "cells": results,
        "bounds": bounds,
        "head_of_line": hol,
    }


def floors(batch: Sequence[Job], concurrency: int) -> dict[str, float]:
    """The fastest any system could finish `batch`, in seconds, with `concurrency` slots.

    Keeping per-key order, a key's jobs run one after another, so nothing finishes before the
    heaviest key's total delay; without order, before the longest single job. Either way the
    total delay spread over all slots is a floor too. Handler time only: no Kafka, no decoding.
    """
    per_key: dict[str, int] = defaultdict(int)
    for job in batch:
        per_key[job.key] += job.delay_ms
    spread = sum(per_key.values()) / concurrency
    return {
        "ordered_floor_s": max(max(per_key.values()), spread) / 1000,
        "unordered_floor_s": max(max(job.delay_ms for job in batch), spread) / 1000,
    }


def _cell(system: runners.System, batch: list[Job], partitions: int, cap: float) -> dict[str, Any]:
    session = measure(
        system,
        partitions,
        len(batch),
        cap,
        lambda feeder, source: feeder.preload_jobs(source, batch),
    )
    return _summary(session, len(batch))


def _head_of_line(system: runners.System, cap: float) -> dict[str, Any]:
    """10 jobs of 2 s on one key, 200 jobs of 20 ms on 50 other keys, one partition."""
    slow = [Job(id=f"slow-{i}", key="slow", seq=i, delay_ms=2000, sent_at_us=0) for i in range(10)]
    fast = [
        Job(id=f"fast-{i}", key=f"fast-{i % 50}", seq=i // 50, delay_ms=20, sent_at_us=0)
        for i in range(200)
    ]
    batch: list[Job] = []
    for i, job in enumerate(fast):  # a slow job before every 20 fast ones
        if i % 20 == 0:
            batch.append(slow[i // 20])
        batch.append(job)
    session = measure(
        system, 1, len(batch), cap, lambda feeder, source: feeder.preload_jobs(source, batch)
    )
    fast_seen = [s for s in session.seen if s.result.key != "slow"]
    fast_latency = _latencies(fast_seen)
    return {
        **_summary(session, len(batch)), "fast_done": len(fast_seen), "fast_total": len(fast),
        "fast_p50_ms": fast_latency["p50_ms"], "fast_p99_ms": fast_latency["p99_ms"],
    }  # fmt: skip


def _summary(session: Session, expected: int) -> dict[str, Any]:
    if session.error:
        return {"system": session.system, "error": session.error}
    return {
        "system": session.system,
        "events": len(session.seen),
        "events_per_s": session.rate,
        "finished": len(session.seen) >= expected,
        **_latencies(session.seen),
        "order_violations": _violations(session.seen),
    }


def _latencies(seen: list[Seen]) -> dict[str, float | None]:
    values = sorted(s.latency_ms for s in seen)
    if not values:
        return {"p50_ms": None, "p99_ms": None}
    return {
        "p50_ms": statistics.median(values),
        "p99_ms": values[min(len(values) - 1, int(0.99 * len(values)))],
    }


def _violations(seen: list[Seen]) -> int:
    """Adjacent results of one key that come out in the wrong order.

    A key's results land on one output partition, so their offsets are the order a consumer
    of the results sees. Running a key's jobs side by side (even when they start in order)
    lets a short job overtake a long one: that is what this counts.
    """
    by_key: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    for s in seen:
        by_key[s.result.key].append((s.partition, s.offset, s.result.seq))
    violations = 0
    for results in by_key.values():
        seqs = [seq for _, _, seq in sorted(results)]
        violations += sum(1 for a, b in itertools.pairwise(seqs) if b < a)
    return violations


def _brief(result: dict[str, Any]) -> str:
    if "error" in result:
        return f"error: {result['error']}"
    rate = result["events_per_s"]
    capped = "" if result.get("finished") else " (capped)"
    p99 = result.get("p99_ms") or result.get("fast_p99_ms")
    violations = result.get("order_violations", "-")
    return f"{rate:8.1f} ev/s{capped}  p99 {p99 or 0:8.0f} ms  order violations {violations}"
