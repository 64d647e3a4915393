"""One measured session of a system on the job workloads: warm up, then measure, then stop.

The system starts and must return one warm-up job before the measured input is published,
so its start-up (imports, joining the group) is never counted as latency. Throughput and
latency come from the observer: results visible per second after the input was published.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench import feed, runners
from bench.contracts import Job
from bench.observe import Observer, Seen

WARMUP = Job(id="warmup", key="warmup", seq=0, delay_ms=0, sent_at_us=0)

# Jobs each system may run at once (hivebus max_in_flight, FastStream max_workers, Faust).
CONCURRENCY = 256


@dataclass
class Session:
    system: str
    seen: list[Seen] = field(default_factory=list)
    published_at_us: int = 0
    error: str | None = None

    @property
    def rate(self) -> float:
        if not self.seen:
            return 0.0
        span_s = (max(s.observed_at_us for s in self.seen) - self.published_at_us) / 1e6
        return len(self.seen) / span_s if span_s > 0 else 0.0


def measure(
    system: runners.System,
    partitions: int,
    expected: int,
    cap_s: float,
    publish: Callable[[feed.Feeder, str], None],
) -> Session:
    """Run `system` on the `slow` workload; `publish(feeder, source)` puts the measured input."""
    source, output = feed.topic("jobs", partitions), feed.topic("jobs-out", partitions)
    session = Session(system.name)
    config: dict[str, Any] = {
        "source": source, "output": output, "group": f"{source}.{system.name}",
        "count": expected + 1, "concurrency": CONCURRENCY,
    }  # fmt: skip
    try:
        running = runners.start(system, "slow", config, timeout_s=cap_s + 120)
    except Exception as error:  # a peer that cannot be installed here
        session.error = f"install: {error}"
        return session
    feeder = feed.Feeder()
    try:
        return _measure(running, feeder, session, output, source, expected, cap_s, publish)
    finally:
        running.stop()
        feed.delete_topics(source, output)


def _measure(
    running: runners.Running,
    feeder: feed.Feeder,
    session: Session,
    output: str,
    source: str,
    expected: int,
    cap_s: float,
    publish: Callable[[feed.Feeder, str], None],
) -> Session:
    with Observer(output) as observer:
        feeder.stream_jobs(source, [WARMUP], rate_per_s=1000)
        observer.wait_for(1, 90)
        if not observer.seen:
            result = running.stop()
            session.error = result.get("unsupported") or result.get("error") or "no warm-up result"
            return session
        session.published_at_us = time.time_ns() // 1000
        publish(feeder, source)
        observer.wait_for(expected + 1, cap_s)
        running.stop()
        session.seen = [s for s in observer.seen if s.result.id != WARMUP.id]
    return session
