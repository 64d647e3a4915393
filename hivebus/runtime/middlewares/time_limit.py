"""`Agent(handler_timeout_s=...)`: an attempt that runs longer fails with TimeoutError.

Only `async def` handlers can be interrupted; a `def` handler runs inline to its end.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from hivebus.runtime.middleware import Call, Next


class TimeLimit:
    def __call__(self, call: Call, call_next: Next) -> Awaitable[None]:
        timeout = call.agent.handler_timeout_s
        if timeout is None or not call.handler.is_async:
            return call_next(call)
        return asyncio.wait_for(call_next(call), timeout)
