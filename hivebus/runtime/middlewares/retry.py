"""Retry a failed attempt with the agent's backoff, holding back only the record's own lane."""

from __future__ import annotations

import asyncio

from hivebus.runtime import metrics
from hivebus.runtime.job import JobState
from hivebus.runtime.middleware import Call, Next
from hivebus.runtime.middlewares.dead_letters import NonRetryableError


class Retrying:
    async def __call__(self, call: Call, call_next: Next) -> None:
        retry = call.agent.retry
        while True:
            try:
                await call_next(call)
                return
            except NonRetryableError:
                raise
            except Exception:
                if call.attempt >= retry.attempts:
                    raise
            metrics.retries(call.agent.name, call.job.message.topic()).inc()
            call.job.move(JobState.RETRY_WAIT)
            await asyncio.sleep(retry.delay(call.attempt))
            call.job.move(JobState.RUNNING)
            call.attempt += 1
