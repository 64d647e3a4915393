"""What a worker knows about its surroundings, checked every few seconds off the event loop:
is the broker reachable, is the registry, and how far behind is each held partition.

Lag is the partition's end offset minus the offset the broker last accepted as committed for
it — what `kafka-consumer-groups` and KEDA's Kafka scaler call lag — and a partition the
worker no longer holds loses its gauge, so an autoscaler never acts on work that is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from hivebus.contracts import Serde
from hivebus.kafka.admin import end_offsets
from hivebus.runtime import metrics

if TYPE_CHECKING:
    from hivebus.runtime.runner import AgentRunner

log = logging.getLogger("hivebus.worker")
TIMEOUT_S = 2.0


class Probes:
    def __init__(self, admin: AdminClient, serde: Serde, *, interval_s: float = 2.0) -> None:
        self._admin = admin
        self._serde = serde
        self.interval_s = interval_s
        self.broker_ok = False
        self.registry_ok = False
        self._lag_labels: set[tuple[str, str, str]] = set()

    async def run(self, runners: Sequence[AgentRunner]) -> None:
        """Check forever; each round never takes longer than about `TIMEOUT_S`."""
        while True:
            try:
                await self.check(runners)
            except Exception:  # a round that fails must not freeze /readyz and the gauges
                log.exception("health probe failed")
                self.broker_ok = self.registry_ok = False
            await asyncio.sleep(self.interval_s)

    async def check(self, runners: Sequence[AgentRunner]) -> None:
        self.broker_ok, self.registry_ok = await asyncio.gather(
            asyncio.to_thread(self._broker_reachable), self._serde.reachable(TIMEOUT_S)
        )
        if self.broker_ok:
            await self._measure_lag(runners)

    def _broker_reachable(self) -> bool:
        try:
            self._admin.list_topics(timeout=TIMEOUT_S)
        except KafkaException:
            return False
        return True

    async def _measure_lag(self, runners: Sequence[AgentRunner]) -> None:
        held = {
            (runner.agent.name, partition): assignment
            for runner in runners
            for partition, assignment in list(runner.assignments.items())
        }
        partitions = {partition for _, partition in held}
        ends = await asyncio.to_thread(end_offsets, self._admin, partitions, TIMEOUT_S)
        labels = set()
        for (agent, partition), assignment in held.items():
            end, committed = ends.get(partition), assignment.offsets.acknowledged_offset
            if end is None or committed is None or assignment.revoked:
                continue
            label = (agent, partition[0], str(partition[1]))
            metrics.LAG.labels(*label).set(max(0, end - committed))
            labels.add(label)
        for label in self._lag_labels - labels:
            with contextlib.suppress(KeyError):
                metrics.LAG.remove(*label)
        self._lag_labels = labels
