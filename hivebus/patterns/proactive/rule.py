"""When is a value an anomaly: a rolling z-score per series, with a cool-down.

Pure bookkeeping, so it is tested without a broker. The window is the last `window` values
before the one judged (an anomalous value joins the window too, so a lasting shift becomes
the new normal instead of firing forever); the cool-down keeps one incident from becoming
a flood of alerts.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from hivebus.errors import ConfigError


@dataclass(frozen=True)
class Judged:
    value: float
    expected: float
    spread: float
    score: float
    window: int


@dataclass
class ZScore:
    """Fire when a value is more than `threshold` standard deviations from the mean of its
    series' last `window` values, once `min_samples` are in; then hold off `cooldown`
    values of that series."""

    window: int = 60
    threshold: float = 4.0
    min_samples: int = 20
    cooldown: int = 30
    floor: float = 1e-9  # the smallest spread: a flat series still has a scale
    _series: dict[str, deque[float]] = field(default_factory=dict, repr=False)
    _quiet: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for name in ("window", "min_samples"):
            if getattr(self, name) < 2:
                raise ConfigError(f"ZScore.{name} must be at least 2, got {getattr(self, name)}")
        if self.min_samples > self.window:
            raise ConfigError(f"ZScore.min_samples ({self.min_samples}) must not exceed "
                              f"ZScore.window ({self.window})")  # fmt: skip
        if not self.threshold > 0:
            raise ConfigError(f"ZScore.threshold must be more than 0, got {self.threshold}")
        if self.cooldown < 0:
            raise ConfigError(f"ZScore.cooldown must be 0 or more, got {self.cooldown}")

    def observe(self, series: str, value: float) -> Judged | None:
        """Take one value of `series`; a `Judged` when it is an anomaly."""
        past = self._series.setdefault(series, deque(maxlen=self.window))
        judged = self._judge(past, value)
        past.append(value)
        quiet = self._quiet.get(series, 0)
        if quiet > 0:
            self._quiet[series] = quiet - 1
            return None
        if judged is not None:
            self._quiet[series] = self.cooldown
        return judged

    def forget(self, series: str) -> None:
        """Drop a series (its partition went to another worker: its state is theirs now)."""
        self._series.pop(series, None)
        self._quiet.pop(series, None)

    def _judge(self, past: deque[float], value: float) -> Judged | None:
        n = len(past)
        if n < self.min_samples:
            return None
        mean = sum(past) / n
        spread = max(math.sqrt(sum((x - mean) ** 2 for x in past) / (n - 1)), self.floor)
        score = (value - mean) / spread
        if abs(score) <= self.threshold:
            return None
        return Judged(value, mean, spread, score, n)
