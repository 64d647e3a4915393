"""`chain`: every shape of middleware a user may write runs, in the order listed."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable
from typing import Any

from hivebus.runtime.middleware import DONE, Call, Next, chain


def test_functions_objects_partials_and_keyword_only_call_next_all_run_in_order() -> None:
    seen: list[str] = []

    def plain(call: Call, call_next: Next) -> Awaitable[None]:
        seen.append("function")
        return call_next(call)

    def keyword(call: Call, *, call_next: Next) -> Awaitable[None]:
        seen.append("keyword-only")
        return call_next(call)

    class Counting:
        def __call__(self, call: Call, call_next: Next) -> Awaitable[None]:
            seen.append("object")
            return call_next(call)

    class Waiting:
        async def __call__(self, call: Call, *, call_next: Next) -> None:
            seen.append("async object")
            await call_next(call)

    def tagged(tag: str, call: Call, call_next: Next) -> Awaitable[None]:
        seen.append(tag)
        return call_next(call)

    counting = Counting()
    counting.__call__ = lambda *_: None  # type: ignore[method-assign]  # the class's counts
    links: list[Any] = [plain, keyword, counting, functools.partial(tagged, "partial"), Waiting()]

    def innermost(call: Call) -> Awaitable[None]:
        seen.append("handler")
        return DONE

    running = chain(links, innermost)(None)  # type: ignore[arg-type]
    assert running is not DONE  # an async link makes it a coroutine
    asyncio.run(running)  # type: ignore[arg-type]
    assert seen == ["function", "keyword-only", "object", "partial", "async object", "handler"]
