"""Retry a failed attempt with the agent's backoff, holding back only the record's own lane."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from hivebus.runtime import metrics
from hivebus.runtime.job import JobState
from hivebus.runtime.middleware import DONE, Call, Next
from hivebus.runtime.middlewares.dead_letters import NonRetryableError
from hivebus.runtime.outbox import Fenced


class Retrying:
    def __call__(self, call: Call, call_next: Next) -> Awaitable[None]:
        if call.job.buffer is not None:  # only exactly-once holds outputs to mark
            call.job.begin_attempt()
        try:
            attempt = call_next(call)  # a sync attempt has already run here
        except NonRetryableError:
            raise
        except Exception as error:
            if call.attempt >= call.agent.retry.attempts:
                raise
            _told(call, error)
            return self._again(call, call_next)
        return DONE if attempt is DONE else self._awaiting(call, call_next, attempt)

    async def _awaiting(self, call: Call, call_next: Next, attempt: Awaitable[None]) -> None:
        try:
            await attempt
            return
        except NonRetryableError:
            raise
        except Exception as error:
            if call.attempt >= call.agent.retry.attempts:
                raise
            _told(call, error)
        await self._again(call, call_next)

    async def _again(self, call: Call, call_next: Next) -> None:
        """Back off, then attempt again until one succeeds or the last one fails."""
        retry, job = call.agent.retry, call.job
        while True:
            job.discard_attempt()  # the failed attempt's held outputs (exactly-once)
            if job.fenced:  # cancelled while failing: the next owner runs the record
                raise Fenced(f"{job.where} was cancelled between attempts")
            metrics.retries(call.agent.name, job.message.topic()).inc()
            job.move(JobState.RETRY_WAIT)
            await asyncio.sleep(retry.delay(call.attempt))
            job.move(JobState.RUNNING)
            call.attempt += 1
            job.begin_attempt()
            try:
                await call_next(call)
                return
            except NonRetryableError:
                raise
            except Exception as error:
                if call.attempt >= retry.attempts:
                    raise
                _told(call, error)


def _told(call: Call, error: Exception) -> None:
    """Tell the handling's observer (the audit) of an attempt that failed and is retried."""
    observer = call.job.observer
    if observer is not None:
        observer.attempt_failed(call.attempt, error)
