"""Which LLM server to talk to, read from the environment and validated with named errors."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, get_args

from hivebus.envvars import env, int_env
from hivebus.errors import ConfigError

Provider = Literal["openai", "offline"]
PROVIDERS: tuple[str, ...] = get_args(Provider)
DEFAULT_MODEL = "gpt-4o-mini"


@dataclass(frozen=True)
class LLMSettings:
    """Where completions come from; `provider="offline"` needs nothing and answers locally."""

    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    model: str = DEFAULT_MODEL
    timeout_s: float = 60.0
    max_retries: int = 2
    provider: Provider = "offline"

    def __post_init__(self) -> None:
        self.validate()

    @classmethod
    def from_env(cls) -> LLMSettings:
        """Read `HIVEBUS_LLM_*`, falling back to the openai SDK's own `OPENAI_*` variables.

        Without a key or base URL the provider defaults to offline, so examples run anywhere.
        """
        base_url = env("HIVEBUS_LLM_BASE_URL") or env("OPENAI_BASE_URL")
        api_key = env("HIVEBUS_LLM_API_KEY") or env("OPENAI_API_KEY")
        provider = env("HIVEBUS_LLM_PROVIDER") or ("openai" if api_key or base_url else "offline")
        if provider not in PROVIDERS:
            raise ConfigError(
                f"HIVEBUS_LLM_PROVIDER must be one of {', '.join(PROVIDERS)}, got {provider!r}"
            )
        if base_url is not None and not base_url.startswith(("http://", "https://")):
            name = "HIVEBUS_LLM_BASE_URL" if env("HIVEBUS_LLM_BASE_URL") else "OPENAI_BASE_URL"
            raise ConfigError(f"{name} must be an http:// or https:// URL, got {base_url!r}")
        if provider == "openai" and not (api_key or base_url):
            raise ConfigError(
                "HIVEBUS_LLM_PROVIDER=openai needs HIVEBUS_LLM_API_KEY (or OPENAI_API_KEY), "
                "or HIVEBUS_LLM_BASE_URL for a local server that takes no key"
            )
        return cls(
            base_url=base_url,
            api_key=api_key,
            model=env("HIVEBUS_LLM_MODEL") or DEFAULT_MODEL,
            timeout_s=_float_env("HIVEBUS_LLM_TIMEOUT_S", 60.0),
            max_retries=int_env("HIVEBUS_LLM_MAX_RETRIES", 2, 0, 100),
            provider="openai" if provider == "openai" else "offline",
        )

    def validate(self) -> None:
        """Reject settings that cannot work, naming the field."""
        if self.provider not in PROVIDERS:
            raise ConfigError(
                f"provider must be one of {', '.join(PROVIDERS)}, got {self.provider!r}"
            )
        if not self.model.strip():
            raise ConfigError("model must not be empty")
        if not (math.isfinite(self.timeout_s) and self.timeout_s > 0):
            raise ConfigError(f"timeout_s must be positive, got {self.timeout_s}")
        if self.max_retries < 0:
            raise ConfigError(f"max_retries must be 0 or more, got {self.max_retries}")


def _float_env(name: str, default: float) -> float:
    raw = env(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"{name} must be a positive number of seconds, got {raw!r}")
    return value
