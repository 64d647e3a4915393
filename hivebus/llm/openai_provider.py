"""Chat completions from any OpenAI-compatible server through the openai SDK.

Retries (connection errors, 408/409/429/5xx, honouring `retry-after`) are the SDK's own,
bounded by `max_retries`; what still fails afterwards becomes an `LLMRequestError`.
"""

from __future__ import annotations

from typing import TypeVar, cast

import openai
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam
from openai.types.chat.completion_create_params import ResponseFormat

from hivebus.llm.errors import LLMReplyError, LLMRequestError
from hivebus.llm.provider import ChatRequest, Reply
from hivebus.llm.settings import LLMSettings
from hivebus.llm.tokens import estimate_prompt_tokens, estimate_tokens

# Local OpenAI-compatible servers (vLLM, Ollama, llama.cpp) take no key, but the SDK needs one.
NO_KEY = "no-key"

T = TypeVar("T")


class OpenAIProvider:
    """Wraps one `openai.AsyncOpenAI` client; create it once and share it across handlers."""

    def __init__(self, client: openai.AsyncOpenAI) -> None:
        self._client = client

    @classmethod
    def from_settings(cls, settings: LLMSettings) -> OpenAIProvider:
        client = openai.AsyncOpenAI(
            api_key=settings.api_key or NO_KEY,
            base_url=settings.base_url,
            timeout=settings.timeout_s,
            max_retries=settings.max_retries,
        )
        return cls(client)

    async def chat(self, request: ChatRequest) -> Reply:
        try:
            response = await self._client.chat.completions.create(
                messages=cast(list[ChatCompletionMessageParam], request.messages),
                model=request.model,
                temperature=_given(request.temperature),
                max_tokens=_given(request.max_tokens),
                response_format=_given(cast(ResponseFormat | None, request.response_format)),
                stream=False,
            )
        except openai.APIStatusError as exc:
            raise LLMRequestError(
                f"{self._client.base_url} answered {exc.status_code} for model "
                f"{request.model!r}: {exc.message}",
                status_code=exc.status_code,
            ) from exc
        except openai.APIError as exc:
            raise LLMRequestError(
                f"no answer from {self._client.base_url} for model {request.model!r}: {exc.message}"
            ) from exc
        return _reply(response, request)

    async def aclose(self) -> None:
        await self._client.close()


def _given(value: T | None) -> T | openai.Omit:
    """Leave a parameter out of the request when the caller did not set it."""
    return openai.omit if value is None else value


def _reply(response: ChatCompletion, request: ChatRequest) -> Reply:
    if not response.choices:
        raise LLMReplyError(f"model {response.model!r} answered with no choices", text="")
    choice = response.choices[0]
    text = choice.message.content or ""
    usage = response.usage
    if usage is None:  # some compatible servers leave usage out; estimate rather than count zero
        prompt_tokens = estimate_prompt_tokens(request.messages)
        completion_tokens = estimate_tokens(text)
    else:
        prompt_tokens, completion_tokens = usage.prompt_tokens, usage.completion_tokens
    return Reply(
        text=text,
        model=response.model or request.model,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        finish_reason=choice.finish_reason or "unknown",
    )
