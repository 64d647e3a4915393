"""A detector: a plain agent over a metrics stream that publishes `AnomalyDetected`.

Any contract can be the metric: the detector is told how to read a series name, a value and
a time from it. Its state (each series' window) lives in memory, per partition: metrics keyed
by series keep one series on one worker, in order; when a partition is revoked its series
are forgotten, and the worker that takes them over warms up again (`min_samples`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from hivebus.contracts import Record
from hivebus.kafka.admin import TopicSpec
from hivebus.patterns.proactive.records import AnomalyDetected
from hivebus.patterns.proactive.rule import ZScore
from hivebus.runtime import Agent, Context
from hivebus.runtime.agent import HeldPartition

M = TypeVar("M", bound=Record)


class _Forgetting:
    """Partition hooks: drop the windows of the series of a revoked partition."""

    def __init__(self, rule: ZScore) -> None:
        self.rule = rule
        self.where: dict[str, tuple[str, int]] = {}  # series -> (topic, partition)

    def assigned(self, partitions: list[HeldPartition]) -> None:
        return None

    def revoked(self, partitions: list[HeldPartition]) -> None:
        gone = {(topic, partition) for topic, partition, _ in partitions}
        for series in [s for s, at in self.where.items() if at in gone]:
            self.rule.forget(series)
            del self.where[series]


def detector(
    name: str,
    metrics: str,
    metric_type: type[M],
    *,
    series: Callable[[M], str],
    value: Callable[[M], float],
    observed_at: Callable[[M], str],
    anomalies: str,
    rule: ZScore | None = None,
    partitions: int = 6,
) -> Agent:
    """An agent named `name` judging each `metric_type` event on `metrics` (a topic or a
    pattern) by `rule` (a `ZScore` by default), publishing an `AnomalyDetected`, keyed by
    the series, to `anomalies`."""
    judge = rule or ZScore()
    forgetting = _Forgetting(judge)
    agent = Agent(name, description=f"Watches {metrics} for anomalies",
                  topics=[TopicSpec(anomalies, partitions=partitions)],
                  publishes=[anomalies])  # fmt: skip
    agent.partition_hooks.append(forgetting)

    @agent.on(metrics, metric_type)
    async def watch(metric: M, ctx: Context) -> None:
        named = series(metric)
        forgetting.where[named] = (ctx.topic, ctx.partition)
        judged = judge.observe(named, value(metric))
        if judged is None:
            return
        anomaly = AnomalyDetected(
            id=f"{name}:{ctx.event_id}", detector=name, series=named, value=judged.value,
            expected=judged.expected, spread=judged.spread, score=judged.score,
            window=judged.window, observed_at=observed_at(metric),
        )  # fmt: skip
        await ctx.publish(anomalies, anomaly, key=named)

    return agent
