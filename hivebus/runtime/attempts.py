"""Calling a step's function: awaiting what it returns, retrying it with a backoff."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from hivebus.runtime.backoff import Retry

T = TypeVar("T")
ONCE = Retry(attempts=1)


async def attempt(
    fn: Callable[..., Awaitable[T] | T], args: tuple[Any, ...], retry: Retry | None
) -> tuple[T, int]:
    """`fn(*args)`, awaited if it returns an awaitable, tried up to `retry.attempts` times;
    the result and the attempts it took. The last failure propagates."""
    policy = retry or ONCE
    tries = 0
    while True:
        tries += 1
        try:
            result = fn(*args)
            if inspect.isawaitable(result):
                result = await result
            return result, tries
        except Exception:
            if tries >= policy.attempts:
                raise
        await asyncio.sleep(policy.delay(tries))
