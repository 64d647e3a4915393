"""LLM settings come from the environment; bad values are rejected naming the variable."""

from __future__ import annotations

import pytest

from hivebus.errors import ConfigError
from hivebus.llm import LLM, LLMSettings

LLM_VARIABLES = (
    "HIVEBUS_LLM_BASE_URL",
    "OPENAI_BASE_URL",
    "HIVEBUS_LLM_API_KEY",
    "OPENAI_API_KEY",
    "HIVEBUS_LLM_MODEL",
    "HIVEBUS_LLM_PROVIDER",
    "HIVEBUS_LLM_TIMEOUT_S",
    "HIVEBUS_LLM_MAX_RETRIES",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in LLM_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_without_key_or_url_the_provider_is_offline() -> None:
    settings = LLMSettings.from_env()
    assert settings.provider == "offline"
    assert (settings.model, settings.timeout_s, settings.max_retries) == ("gpt-4o-mini", 60, 2)
    assert settings.base_url is None


def test_an_openai_key_selects_the_openai_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-openai-env")
    settings = LLMSettings.from_env()
    assert settings.provider == "openai"
    assert settings.api_key == "sk-from-openai-env"


def test_hivebus_variables_win_over_openai_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai")
    monkeypatch.setenv("OPENAI_BASE_URL", "https://api.example.com/v1")
    monkeypatch.setenv("HIVEBUS_LLM_API_KEY", "sk-hivebus")
    monkeypatch.setenv("HIVEBUS_LLM_BASE_URL", "http://127.0.0.1:8000/v1")
    monkeypatch.setenv("HIVEBUS_LLM_MODEL", "llama-3.1-8b")
    monkeypatch.setenv("HIVEBUS_LLM_TIMEOUT_S", "2.5")
    monkeypatch.setenv("HIVEBUS_LLM_MAX_RETRIES", "0")
    settings = LLMSettings.from_env()
    assert settings.api_key == "sk-hivebus"
    assert settings.base_url == "http://127.0.0.1:8000/v1"
    assert (settings.model, settings.timeout_s, settings.max_retries) == ("llama-3.1-8b", 2.5, 0)


def test_a_base_url_alone_is_enough_for_a_local_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HIVEBUS_LLM_BASE_URL", "http://127.0.0.1:11434/v1")
    assert LLMSettings.from_env().provider == "openai"


def test_offline_can_be_forced_with_a_key_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-real")
    monkeypatch.setenv("HIVEBUS_LLM_PROVIDER", "offline")
    assert LLMSettings.from_env().provider == "offline"


def test_the_key_is_kept_out_of_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    assert "sk-secret" not in repr(LLMSettings.from_env())


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("HIVEBUS_LLM_PROVIDER", "anthropic", "must be one of openai, offline"),
        ("HIVEBUS_LLM_BASE_URL", "localhost:8000", "must be an http:// or https:// URL"),
        ("OPENAI_BASE_URL", "ftp://example.com", "must be an http:// or https:// URL"),
        ("HIVEBUS_LLM_TIMEOUT_S", "soon", "must be a number of seconds"),
        ("HIVEBUS_LLM_TIMEOUT_S", "0", "must be a positive number of seconds"),
        ("HIVEBUS_LLM_MAX_RETRIES", "two", "must be a whole number"),
        ("HIVEBUS_LLM_MAX_RETRIES", "-1", "must be between 0 and 100"),
    ],
)
def test_a_bad_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=f"{variable} {message}"):
        LLMSettings.from_env()


def test_the_openai_provider_without_key_or_url_is_rejected(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HIVEBUS_LLM_PROVIDER", "openai")
    with pytest.raises(ConfigError, match="HIVEBUS_LLM_PROVIDER=openai needs HIVEBUS_LLM_API_KEY"):
        LLMSettings.from_env()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("model", " ", "model must not be empty"),
        ("timeout_s", -1.0, "timeout_s must be positive"),
        ("max_retries", -1, "max_retries must be 0 or more"),
    ],
)
def test_settings_built_in_code_are_validated_too(field: str, value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        LLMSettings(**{field: value})  # type: ignore[arg-type]


async def test_from_env_without_configuration_answers_offline() -> None:
    async with LLM.from_env() as llm:
        completion = await llm.complete("ping")
    assert completion.model == "offline"
