"""The outermost middleware: whatever the chain finally raises sends the record to its DLQ.

Nothing is dropped: the original record goes to `hivebus.dlq.<agent>` with the error in
`hivebus_error_*` headers, and its offset completes once that write is acknowledged.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import TYPE_CHECKING

from hivebus.runtime.deadletter import Failure, dlq_topic
from hivebus.runtime.middleware import DONE, Call, Next

if TYPE_CHECKING:
    from hivebus.runtime.outbox import Outbox


class NonRetryableError(Exception):
    """Raise from a handler to dead-letter the record at once, with no further attempts."""


class DeadLettering:
    def __init__(self, outbox: Outbox, log: logging.Logger) -> None:
        self._outbox = outbox
        self._log = log

    def __call__(self, call: Call, call_next: Next) -> Awaitable[None]:
        try:
            handled = call_next(call)
        except Exception as error:
            self._dead_letter(call, error)
            return DONE
        return DONE if handled is DONE else self._awaiting(call, handled)

    async def _awaiting(self, call: Call, handled: Awaitable[None]) -> None:
        try:
            await handled
        except Exception as error:
            self._dead_letter(call, error)

    def _dead_letter(self, call: Call, error: Exception) -> None:
        self._log.warning(
            "%s failed after %d attempt(s) (%s: %s): dead-lettered",
            call.job.where, call.attempt, type(error).__name__, error,
        )  # fmt: skip
        failure = Failure("handler", type(error).__name__, str(error), call.attempt)
        call.job.discard_attempt()  # exactly-once: the last attempt's outputs go with it
        self._outbox.dead_letter(call.job, failure)
        observer = call.job.observer
        if observer is not None:  # the audit records why
            observer.dead_lettered(failure.error_type, failure.message, dlq_topic(call.agent.name))
