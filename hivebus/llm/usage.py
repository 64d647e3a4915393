"""In-process totals of what an `LLM` has spent, for printing at the end of a script or test."""

from __future__ import annotations

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
