"""`Retry`: how often, and how far apart, a failed attempt is tried again."""

from __future__ import annotations

from dataclasses import dataclass

from hivebus.errors import ConfigError


@dataclass(frozen=True)
class Retry:
    """Exponential backoff: attempt n waits `backoff_s * 2**(n-1)`, capped at `max_backoff_s`."""

    attempts: int = 3
    backoff_s: float = 0.2
    max_backoff_s: float = 10.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ConfigError(f"Retry.attempts must be at least 1, got {self.attempts}")
        if self.backoff_s < 0 or self.max_backoff_s < 0:
            raise ConfigError("Retry.backoff_s and Retry.max_backoff_s must not be negative")

    def delay(self, attempt: int) -> float:
        return float(min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1)))
