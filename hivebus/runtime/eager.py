"""Start a coroutine inline; make it a task only if it actually has to wait.

Most records of a fast agent never wait on anything: a task per record would cost more than
the handler (`make bench`, pass-through). So the executor runs each job's coroutine up to its
first real suspension right where it is; if it finishes there, no task was ever made. If it
yields a future, a task takes over and drives it on from that point, exactly as asyncio's own
task step would. (Python 3.12's `eager_task_factory` does the same; hivebus supports 3.11.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


def start_eagerly(
    coroutine: Coroutine[Any, Any, None], loop: asyncio.AbstractEventLoop
) -> asyncio.Task[None] | None:
    """Run `coroutine` until it first waits; None if it finished, else the task driving it."""
    try:
        waiting = coroutine.send(None)
    except StopIteration:
        return None
    return loop.create_task(_drive(coroutine, waiting))


async def _drive(coroutine: Coroutine[Any, Any, None], waiting: Any) -> None:
    """Resume `coroutine` each time what it waits on is done; pass cancellation into it."""
    loop = asyncio.get_running_loop()
    while True:
        try:
            if waiting is None:  # a bare yield: give the loop one turn
                await asyncio.sleep(0)
            else:
                waiting._asyncio_future_blocking = False
                await _done(waiting, loop)
        except asyncio.CancelledError:
            # Cancel what it waits on, so it sees CancelledError where it awaits; if that is
            # already done, throw the cancellation in directly.
            if waiting is None or not waiting.cancel():
                try:
                    waiting = coroutine.throw(asyncio.CancelledError())
                except StopIteration:
                    return
                continue
        try:
            waiting = coroutine.send(None)
        except StopIteration:
            return


def _done(future: asyncio.Future[Any], loop: asyncio.AbstractEventLoop) -> asyncio.Future[None]:
    """A future that completes when `future` does, without consuming its result."""
    signal: asyncio.Future[None] = loop.create_future()

    def wake(_: object) -> None:
        if not signal.done():
            signal.set_result(None)

    future.add_done_callback(wake)
    return signal
