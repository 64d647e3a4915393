"""Prometheus metrics of a worker, one set of label values cached per agent and topic."""

from __future__ import annotations

from functools import cache

from prometheus_client import Counter, Gauge, Histogram

CONSUMED = Counter("hivebus_events_consumed_total", "Events received", ["agent", "topic"])
PRODUCED = Counter("hivebus_events_produced_total", "Events published", ["agent", "topic"])
FAILED = Counter("hivebus_events_failed_total", "Handler attempts that raised", ["agent", "topic"])
IGNORED = Counter(
    "hivebus_events_ignored_total", "Events of a type the agent has no handler for",
    ["agent", "topic"],
)  # fmt: skip
RETRIES = Counter("hivebus_retries_total", "Handler retries", ["agent", "topic"])
DEAD_LETTERS = Counter(
    "hivebus_dead_letters_total", "Events sent to the dead-letter topic", ["agent", "topic", "kind"]
)
LATENCY = Histogram(
    "hivebus_handler_seconds",
    "Handler duration per attempt",
    ["agent"],
    buckets=(0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
IN_FLIGHT = Gauge("hivebus_in_flight", "Handlers running now", ["agent"])
LAG = Gauge(
    "hivebus_consumer_lag", "High watermark minus position", ["agent", "topic", "partition"]
)


@cache
def consumed(agent: str, topic: str) -> Counter:
    return CONSUMED.labels(agent, topic)


@cache
def produced(agent: str, topic: str) -> Counter:
    return PRODUCED.labels(agent, topic)


@cache
def failed(agent: str, topic: str) -> Counter:
    return FAILED.labels(agent, topic)


@cache
def ignored(agent: str, topic: str) -> Counter:
    return IGNORED.labels(agent, topic)


@cache
def retries(agent: str, topic: str) -> Counter:
    return RETRIES.labels(agent, topic)


@cache
def latency(agent: str) -> Histogram:
    return LATENCY.labels(agent)


@cache
def in_flight(agent: str) -> Gauge:
    return IN_FLIGHT.labels(agent)
