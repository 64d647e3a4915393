"""In-process totals of what an `LLM` has spent: per client, and per piece of work counted
with `counting()` (a durable step, say), whichever client served it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from hivebus.llm.completion import Completion


@dataclass
class Usage:
    """Tokens and answered requests since the `LLM` was made; failed requests are not counted."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    requests: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, completion: Completion) -> None:
        self.prompt_tokens += completion.prompt_tokens
        self.completion_tokens += completion.completion_tokens
        self.requests += 1

    def __str__(self) -> str:
        return (
            f"{self.requests} LLM requests, {self.prompt_tokens} prompt + "
            f"{self.completion_tokens} completion tokens"
        )


_COUNTING: ContextVar[Usage | None] = ContextVar("hivebus_llm_counting", default=None)


@contextmanager
def counting() -> Iterator[Usage]:
    """Count the LLM requests made in this context (tasks it starts included) while inside."""
    usage = Usage()
    token = _COUNTING.set(usage)
    try:
        yield usage
    finally:
        _COUNTING.reset(token)


def count(completion: Completion) -> None:
    """Add `completion` to the innermost `counting()` of the current context, if any."""
    usage = _COUNTING.get()
    if usage is not None:
        usage.add(completion)
