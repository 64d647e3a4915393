"""`LLM`: the object a handler calls (`ctx.llm`), the same whichever provider answers."""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any, TypeVar

from prometheus_client import REGISTRY, CollectorRegistry
from pydantic import BaseModel

from hivebus.llm.completion import Completion
from hivebus.llm.json_reply import json_instruction, json_response_format, parse_json_reply
from hivebus.llm.messages import Prompt, to_messages
from hivebus.llm.metering import Meter
from hivebus.llm.offline import OfflineProvider
from hivebus.llm.openai_provider import OpenAIProvider
from hivebus.llm.provider import ChatRequest, Provider
from hivebus.llm.settings import LLMSettings
from hivebus.llm.usage import Usage, count
from hivebus.llm.watch import heard

M = TypeVar("M", bound=BaseModel)
NO_AGENT = "-"


class LLM:
    """Chat completions with metering; one instance is shared by every handler of a process.

    Each call is counted under an agent label: the `agent=` argument, else the agent this
    client was bound to with `for_agent`, else "-".
    """

    def __init__(
        self, provider: Provider, *, model: str, meter: Meter | None = None, agent: str = NO_AGENT
    ) -> None:
        self._provider = provider
        self._model = model
        self._meter = meter if meter is not None else Meter()
        self._agent = agent

    @classmethod
    def from_settings(cls, settings: LLMSettings, *, registry: CollectorRegistry = REGISTRY) -> LLM:
        provider: Provider = (
            OpenAIProvider.from_settings(settings)
            if settings.provider == "openai"
            else OfflineProvider()
        )
        return cls(provider, model=settings.model, meter=Meter(registry))

    @classmethod
    def from_env(cls, *, registry: CollectorRegistry = REGISTRY) -> LLM:
        """The client `HIVEBUS_LLM_*` describe; offline when no key or server is configured."""
        return cls.from_settings(LLMSettings.from_env(), registry=registry)

    def for_agent(self, agent: str) -> LLM:
        """This client with calls counted under `agent`; provider and usage totals are shared."""
        return LLM(self._provider, model=self._model, meter=self._meter, agent=agent)

    @property
    def model(self) -> str:
        """The model asked for when a call names none."""
        return self._model

    @property
    def usage(self) -> Usage:
        """Totals of every answered call through this client (and its `for_agent` views)."""
        return self._meter.usage

    async def complete(
        self,
        prompt: Prompt,
        *,
        system: str | None = None,
        model: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        response_format: dict[str, Any] | None = None,
        agent: str | None = None,
    ) -> Completion:
        """Ask for one completion of `prompt` (a string, or chat messages)."""
        request = ChatRequest(
            messages=to_messages(prompt, system),
            model=model or self._model,
            temperature=temperature,
            max_tokens=max_tokens,
            response_format=response_format,
        )
        return await self._send(request, agent or self._agent)

    async def complete_json(
        self,
        prompt: Prompt,
        *,
        schema: type[M],
        system: str | None = None,
        model: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        response_format: dict[str, Any] | None = None,
        agent: str | None = None,
    ) -> M:
        """Ask for JSON following `schema` and return it validated.

        Raises `LLMReplyError` (with the raw text) when the reply is not a valid `schema`;
        the call still counts as answered, since its tokens were spent. Pass
        `response_format={"type": "json_object"}` for servers without JSON-schema support.
        """
        request = ChatRequest(
            messages=to_messages(prompt, json_instruction(schema, system)),
            model=model or self._model,
            temperature=temperature,
            max_tokens=max_tokens,
            response_format=response_format or json_response_format(schema),
            schema=schema,
        )
        completion = await self._send(request, agent or self._agent)
        return parse_json_reply(completion, schema)

    async def _send(self, request: ChatRequest, agent: str) -> Completion:
        started = time.perf_counter()
        try:
            reply = await self._provider.chat(request)
        except Exception as error:
            self._meter.record_error(agent, request.model)
            heard(request, None, error, time.perf_counter() - started)
            raise
        completion = Completion(
            text=reply.text,
            model=reply.model,
            prompt_tokens=reply.prompt_tokens,
            completion_tokens=reply.completion_tokens,
            latency_s=time.perf_counter() - started,
            finish_reason=reply.finish_reason,
        )
        self._meter.record(agent, completion)
        count(completion)
        heard(request, completion, None, completion.latency_s)
        return completion

    async def aclose(self) -> None:
        """Close the provider's connections; `for_agent` views share them, so close once."""
        await self._provider.aclose()

    async def __aenter__(self) -> LLM:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
