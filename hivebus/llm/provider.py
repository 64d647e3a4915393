"""The one seam between `LLM` and whatever answers: a provider turns a request into a reply."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel


@dataclass(frozen=True)
class ChatRequest:
    """One chat completion to make, already resolved (model chosen, system prompt in place).

    `schema` is set by `complete_json`; the server only sees it through `response_format`,
    but the offline provider uses it to build a valid instance.
    """

    messages: list[dict[str, Any]]
    model: str
    temperature: float | None = None
    max_tokens: int | None = None
    response_format: dict[str, Any] | None = None
    schema: type[BaseModel] | None = None


@dataclass(frozen=True)
class Reply:
    """What a provider answered; `LLM` adds the latency it measured to make a `Completion`."""

    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str


class Provider(Protocol):
    """Anything that can answer a chat request: the openai SDK, the offline provider, a fake."""

    async def chat(self, request: ChatRequest) -> Reply:
        """Answer `request`, raising `LLMError` subclasses for failures a handler can act on."""
        ...

    async def aclose(self) -> None:
        """Release connections; the provider is not used afterwards."""
        ...
