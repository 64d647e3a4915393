"""Per-attempt metrics: the latency of attempts that succeed, a count of those that raise."""

from __future__ import annotations

import time

from hivebus.runtime import metrics
from hivebus.runtime.middleware import Call, Next


class Measuring:
    def __init__(self, stats: metrics.AgentStats) -> None:
        self._stats = stats

    async def __call__(self, call: Call, call_next: Next) -> None:
        started = time.perf_counter()
        try:
            await call_next(call)
        except Exception:
            metrics.failed(call.agent.name, call.job.message.topic()).inc()
            raise
        self._stats.observe(time.perf_counter() - started)
