"""Workload (d): end-to-end latency at a fixed, moderate rate (publish -> agent -> result seen).

Each system runs a zero-delay job handler; after a warm-up event has made the round trip, jobs
are published at `rate` per second for `seconds`, each stamped when sent, and the observer
records when each result becomes visible. Reported: p50 and p99 in milliseconds.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from bench import feed, runners
from bench.contracts import Job
from bench.matrix import _latencies
from bench.observe import Observer


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
    source, output = feed.topic("lat", 3), feed.topic("lat-out", 3)
    total = rate * seconds
    jobs = [
        Job(id=f"j{i}", key=f"k{i % 100}", seq=i // 100, delay_ms=0, sent_at_us=0)
        for i in range(total)
    ]
    warmup = Job(id="warmup", key="warmup", seq=0, delay_ms=0, sent_at_us=0)
    config = {
        "source": source,
        "output": output,
        "group": f"{source}.{system.name}",
        "count": total + 1,
        "concurrency": 256,
    }
    outcome: dict[str, Any] = {}
    with Observer(output) as observer:
        worker = threading.Thread(
            target=lambda: outcome.update(runners.run(system, "slow", config, seconds + 120))
        )
        worker.start()
        feed.stream_jobs(source, [warmup], rate)
        observer.wait_for(1, 90)
        if not observer.seen:
            worker.join()
            return {
                **outcome,
                "system": system.name,
                "error": outcome.get("error") or outcome.get("unsupported") or "no warm-up result",
            }
        feed.stream_jobs(source, jobs, rate)
        observer.wait_for(total + 1, 30)
        worker.join()
    timed = [s for s in observer.seen if s.result.id != "warmup"]
    return {"system": system.name, "events": len(timed), **_latencies(timed)}
