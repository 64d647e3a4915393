"""Per-attempt metrics: the latency of attempts that succeed, a count of those that raise."""

from __future__ import annotations

import time
from collections.abc import Awaitable

from hivebus.runtime import metrics
from hivebus.runtime.middleware import DONE, Call, Next


class Measuring:
    def __init__(self, stats: metrics.AgentStats) -> None:
        self._stats = stats

    def __call__(self, call: Call, call_next: Next) -> Awaitable[None]:
        started = time.perf_counter()
        try:
            attempt = call_next(call)
        except Exception:
            metrics.failed(call.agent.name, call.job.message.topic()).inc()
            raise
        if attempt is DONE:
            self._stats.observe(time.perf_counter() - started)
            return DONE
        return self._awaiting(call, attempt, started)

    async def _awaiting(self, call: Call, attempt: Awaitable[None], started: float) -> None:
        try:
            await attempt
        except Exception:
            metrics.failed(call.agent.name, call.job.message.topic()).inc()
            raise
        self._stats.observe(time.perf_counter() - started)
