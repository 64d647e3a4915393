"""What one LLM call gave back, the same whichever provider answered."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Completion:
    """The reply text with what it cost: tokens as the server counted them, and wall time.

    `model` is the model that answered as the server names it ("offline" for the offline
    provider), which may be more specific than the model asked for.
    """

    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    finish_reason: str

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens
