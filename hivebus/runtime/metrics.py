"""Prometheus metrics of a worker.

Per-event numbers (consumed, produced, handler latency, in flight) are plain counters on each
agent's `AgentStats`, read by a collector only when Prometheus scrapes: the hot path pays an
integer add, not a labelled-metric call. Rare events (failures, retries, dead letters) use
ordinary prometheus-client counters.
"""

from __future__ import annotations

import bisect
import weakref
from collections.abc import Iterator
from functools import cache

from prometheus_client import REGISTRY, Counter, Gauge
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

FAILED = Counter("hivebus_events_failed_total", "Handler attempts that raised", ["agent", "topic"])
IGNORED = Counter(
    "hivebus_events_ignored_total", "Events of a type the agent has no handler for",
    ["agent", "topic"],
)  # fmt: skip
RETRIES = Counter("hivebus_retries_total", "Handler retries", ["agent", "topic"])
DEAD_LETTERS = Counter(
    "hivebus_dead_letters_total", "Events sent to the dead-letter topic", ["agent", "topic", "kind"]
)
LAG = Gauge(
    "hivebus_consumer_lag", "High watermark minus position", ["agent", "topic", "partition"]
)

BUCKETS = (0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class AgentStats:
    """Hot-path counters of one agent in this process."""

    __slots__ = (
        "__weakref__",
        "agent",
        "buckets",
        "consumed",
        "in_flight",
        "latency_sum",
        "produced",
    )

    def __init__(self, agent: str) -> None:
        self.agent = agent
        self.consumed: dict[str, int] = {}
        self.produced: dict[str, int] = {}
        self.buckets = [0] * (len(BUCKETS) + 1)  # the last one is +Inf
        self.latency_sum = 0.0
        self.in_flight = 0
        _COLLECTOR.stats.add(self)

    def observe(self, seconds: float) -> None:
        self.buckets[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.latency_sum += seconds

    def count_produced(self, topic: str) -> None:
        produced = self.produced
        produced[topic] = produced.get(topic, 0) + 1

    @property
    def produced_total(self) -> int:
        return sum(self.produced.values())


class _StatsCollector(Collector):
    def __init__(self) -> None:
        self.stats: weakref.WeakSet[AgentStats] = weakref.WeakSet()

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily | HistogramMetricFamily]:
        consumed = CounterMetricFamily(
            "hivebus_events_consumed", "Events received", labels=["agent", "topic"]
        )
        produced = CounterMetricFamily(
            "hivebus_events_produced",
            "Events published and acknowledged",
            labels=["agent", "topic"],
        )
        in_flight = GaugeMetricFamily("hivebus_in_flight", "Handlers running now", labels=["agent"])
        latency = HistogramMetricFamily(
            "hivebus_handler_seconds", "Handler duration per successful attempt", labels=["agent"]
        )
        for stats in list(self.stats):
            for topic, n in stats.consumed.items():
                consumed.add_metric([stats.agent, topic], n)
            for topic, n in stats.produced.items():
                produced.add_metric([stats.agent, topic], n)
            in_flight.add_metric([stats.agent], stats.in_flight)
            cumulative, running = [], 0
            for bound, count in zip([*map(str, BUCKETS), "+Inf"], stats.buckets, strict=True):
                running += count
                cumulative.append((bound, running))
            latency.add_metric([stats.agent], cumulative, stats.latency_sum)
        yield from (consumed, produced, in_flight, latency)


_COLLECTOR = _StatsCollector()
REGISTRY.register(_COLLECTOR)


@cache
def failed(agent: str, topic: str) -> Counter:
    return FAILED.labels(agent, topic)


@cache
def ignored(agent: str, topic: str) -> Counter:
    return IGNORED.labels(agent, topic)


@cache
def retries(agent: str, topic: str) -> Counter:
    return RETRIES.labels(agent, topic)
