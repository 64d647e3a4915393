"""`LLM` against a real OpenAI-compatible HTTP server: request shape, usage, metrics, retries, JSON.

No Kafka here: the server is `tests.llm_server`, started on 127.0.0.1 for each test.
"""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Iterator

import pytest
from prometheus_client import CollectorRegistry
from pydantic import BaseModel, Field

from hivebus.llm import LLM, LLMReplyError, LLMRequestError, LLMSettings
from tests.llm_server import (
    ECHO_COMPLETION_TOKENS,
    ECHO_PROMPT_TOKENS,
    FakeChatServer,
    chat_body,
    error_body,
    running_chat_server,
)


class Verdict(BaseModel):
    label: str
    risk: float = Field(ge=0, le=1)


@pytest.fixture
def server() -> Iterator[FakeChatServer]:
    with running_chat_server() as server:
        yield server


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


def _settings(server: FakeChatServer, max_retries: int = 2) -> LLMSettings:
    return LLMSettings(
        base_url=server.base_url,
        api_key="test-key",
        model="test-model",
        timeout_s=5,
        max_retries=max_retries,
        provider="openai",
    )


@pytest.fixture
async def llm(server: FakeChatServer, registry: CollectorRegistry) -> AsyncIterator[LLM]:
    async with LLM.from_settings(_settings(server), registry=registry) as llm:
        yield llm


def _sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


async def test_text_and_tokens_come_from_the_server(llm: LLM, server: FakeChatServer) -> None:
    completion = await llm.complete("What is 2+2?", system="Answer briefly.")

    assert completion.text == "echo: What is 2+2?"
    assert completion.model == "test-model"
    assert (completion.prompt_tokens, completion.completion_tokens) == (
        ECHO_PROMPT_TOKENS,
        ECHO_COMPLETION_TOKENS,
    )
    assert completion.finish_reason == "stop"
    assert completion.latency_s > 0
    assert llm.usage.requests == 1
    assert llm.usage.total_tokens == ECHO_PROMPT_TOKENS + ECHO_COMPLETION_TOKENS


async def test_the_server_receives_model_messages_and_options(
    llm: LLM, server: FakeChatServer
) -> None:
    await llm.complete(
        [{"role": "user", "content": "hi"}],
        system="You are terse.",
        model="other-model",
        temperature=0.25,
        max_tokens=40,
    )

    [received] = server.requests
    assert (received.method, received.path) == ("POST", "/v1/chat/completions")
    assert received.headers["authorization"] == "Bearer test-key"
    assert received.body["model"] == "other-model"
    assert received.body["messages"] == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "hi"},
    ]
    assert received.body["temperature"] == 0.25
    assert received.body["max_tokens"] == 40
    assert "response_format" not in received.body


async def test_usage_and_latency_are_metered(
    llm: LLM, server: FakeChatServer, registry: CollectorRegistry
) -> None:
    server.push(200, chat_body("ok", model="served-model", prompt_tokens=30, completion_tokens=5))

    await llm.for_agent("fraud-detector").complete("score this")

    labels = {"agent": "fraud-detector", "model": "served-model"}
    assert _sample(registry, "hivebus_llm_tokens_total", **labels, kind="prompt") == 30
    assert _sample(registry, "hivebus_llm_tokens_total", **labels, kind="completion") == 5
    assert _sample(registry, "hivebus_llm_requests_total", **labels, outcome="ok") == 1
    assert _sample(registry, "hivebus_llm_latency_seconds_count", **labels) == 1
    assert _sample(registry, "hivebus_llm_latency_seconds_sum", **labels) > 0


async def test_a_server_error_is_retried_then_succeeds(
    llm: LLM, server: FakeChatServer, registry: CollectorRegistry
) -> None:
    # retry-after-ms keeps the SDK's backoff short; it is still the SDK that retries
    server.push(500, error_body("overloaded"), retry_after_ms="10")

    completion = await llm.complete("try again")

    assert completion.text == "echo: try again"
    assert [r.path for r in server.requests] == ["/v1/chat/completions"] * 2
    assert server.requests[0].body == server.requests[1].body
    labels = {"agent": "-", "model": "test-model"}
    assert _sample(registry, "hivebus_llm_requests_total", **labels, outcome="ok") == 1
    assert _sample(registry, "hivebus_llm_requests_total", **labels, outcome="error") == 0


async def test_errors_beyond_max_retries_raise_and_count_as_errors(
    server: FakeChatServer, registry: CollectorRegistry
) -> None:
    for _ in range(3):
        server.push(500, error_body("still down"), retry_after_ms="10")

    async with LLM.from_settings(_settings(server, max_retries=1), registry=registry) as llm:
        with pytest.raises(LLMRequestError, match=r"answered 500 for model 'test-model'") as error:
            await llm.complete("anyone there?", agent="research")

    assert error.value.status_code == 500
    assert len(server.requests) == 2  # the first try and max_retries=1 retry
    assert len(server.script) == 1
    labels = {"agent": "research", "model": "test-model", "outcome": "error"}
    assert _sample(registry, "hivebus_llm_requests_total", **labels) == 1
    assert llm.usage.requests == 0


async def test_a_client_error_is_not_retried(llm: LLM, server: FakeChatServer) -> None:
    server.push(400, error_body("unknown parameter"))

    with pytest.raises(LLMRequestError, match="answered 400") as error:
        await llm.complete("bad request")

    assert error.value.status_code == 400
    assert len(server.requests) == 1


async def test_an_unreachable_server_is_a_request_error(registry: CollectorRegistry) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = LLMSettings(
        base_url=f"http://127.0.0.1:{port}/v1", model="m", max_retries=0, provider="openai"
    )

    async with LLM.from_settings(settings, registry=registry) as llm:
        with pytest.raises(LLMRequestError, match=r"no answer from http://127\.0\.0\.1"):
            await llm.complete("hello?")


async def test_missing_usage_is_estimated(llm: LLM, server: FakeChatServer) -> None:
    server.push(200, chat_body("twelve chars", prompt_tokens=None))

    completion = await llm.complete("abcdefgh")

    assert completion.completion_tokens == 3  # 12 characters at four per token
    assert completion.prompt_tokens > 0


async def test_json_mode_asks_for_the_schema_and_validates_the_reply(
    llm: LLM, server: FakeChatServer
) -> None:
    server.push(200, chat_body(json.dumps({"label": "fraud", "risk": 0.9})))

    verdict = await llm.complete_json("Judge tx 42", schema=Verdict, system="You judge.")

    assert verdict == Verdict(label="fraud", risk=0.9)
    body = server.requests[0].body
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["name"] == "Verdict"
    assert body["response_format"]["json_schema"]["schema"] == Verdict.model_json_schema()
    system = body["messages"][0]
    assert system["role"] == "system"
    assert system["content"].startswith("You judge.\n\nReply with one JSON object")
    assert '"risk"' in system["content"]


async def test_json_mode_accepts_a_fenced_reply(llm: LLM, server: FakeChatServer) -> None:
    server.push(200, chat_body('```json\n{"label": "ok", "risk": 0.1}\n```'))

    assert await llm.complete_json("Judge", schema=Verdict) == Verdict(label="ok", risk=0.1)


async def test_json_mode_fails_clearly_on_a_reply_that_is_not_json(
    llm: LLM, server: FakeChatServer, registry: CollectorRegistry
) -> None:
    server.push(200, chat_body("I think it is fraud."))

    with pytest.raises(
        LLMReplyError, match=r"did not reply with a valid Verdict: the reply is not JSON"
    ):
        await llm.complete_json("Judge", schema=Verdict)

    labels = {"agent": "-", "model": "served-model", "outcome": "ok"}
    assert _sample(registry, "hivebus_llm_requests_total", **labels) == 1  # tokens were spent


async def test_json_mode_names_the_fields_that_do_not_fit(llm: LLM, server: FakeChatServer) -> None:
    server.push(200, chat_body(json.dumps({"label": "fraud", "risk": 7})))

    with pytest.raises(LLMReplyError, match=r"valid Verdict: risk: Input should be less") as error:
        await llm.complete_json("Judge", schema=Verdict)

    assert error.value.text == '{"label": "fraud", "risk": 7}'
