"""Workload (d): end-to-end latency at a fixed, moderate rate (publish -> agent -> result seen).

Each system runs a zero-delay job handler; after a warm-up event has made the round trip, jobs
are published at `rate` per second for `seconds`, each stamped when sent, and the observer
records when each result becomes visible. Reported: p50 and p99 in milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bench import runners
from bench.contracts import Job
from bench.matrix import _latencies
from bench.session import measure


def run(systems: Sequence[runners.System], *, quick: bool, say: Any = print) -> dict[str, Any]:
    rate, seconds = (100, 8) if quick else (200, 20)
    results = []
    for system in systems:
        result = _one(system, rate, seconds)
        results.append(result)
        if "p50_ms" in result:
            say(
                f"    (d) {system.name:<28} p50 {result['p50_ms'] or 0:7.1f} ms  "
                f"p99 {result['p99_ms'] or 0:7.1f} ms"
            )
        else:
            say(f"    (d) {system.name:<28} {result.get('unsupported') or result.get('error')}")
    return {"workload": "latency", "rate_per_s": rate, "seconds": seconds, "systems": results}


def _one(system: runners.System, rate: int, seconds: int) -> dict[str, Any]:
    total = rate * seconds
    jobs = [
        Job(id=f"j{i}", key=f"k{i % 100}", seq=i // 100, delay_ms=0, sent_at_us=0)
        for i in range(total)
    ]
    session = measure(
        system, 3, total, 30, lambda feeder, source: feeder.stream_jobs(source, jobs, rate)
    )
    if session.error:
        return {"system": system.name, "error": session.error}
    return {"system": system.name, "events": len(session.seen), **_latencies(session.seen)}
