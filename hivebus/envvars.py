"""Reading settings from environment variables, with errors that name the variable."""

from __future__ import annotations

import os

from hivebus.errors import ConfigError


def env(name: str) -> str | None:
    """The variable's value, or None when it is unset or blank."""
    value = os.environ.get(name, "").strip()
    return value or None


def int_env(name: str, default: int, low: int, high: int) -> int:
    """A whole number within [low, high]; `default` when unset."""
    raw = env(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
    return value
