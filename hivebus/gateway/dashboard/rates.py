"""Rates from counters that only grow, sampled now and then: events per second.

Nothing the dashboard reads is a rate. An instance's heartbeat says how many events it has
received since it started, and the broker says how far each partition's end and each
group's commits have come. The difference between two samples of the same counter,
divided by the time between them, is its rate. The samples are kept over a window, so a
rate does not jump with every sample. A counter that went down (the instance restarted, a
topic was recreated) starts afresh instead of showing a negative rate.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

WINDOW_S = 30.0


class RateMeter:
    """Per-second rates of many counters, each known by a key."""

    def __init__(self, window_s: float = WINDOW_S) -> None:
        self.window_s = window_s
        self._samples: dict[str, deque[tuple[float, float]]] = {}

    def add(self, key: str, at: float, value: float) -> None:
        """A sample of counter `key`: `value` at time `at` (seconds, any fixed origin)."""
        samples = self._samples.setdefault(key, deque())
        if samples and value < samples[-1][1]:
            samples.clear()  # the counter started again
        elif samples and at <= samples[-1][0]:
            return  # a sample seen before (an unchanged heartbeat), or an older one
        samples.append((at, value))
        # Keep the newest sample that is at least a window old, and everything after it.
        while len(samples) > 2 and at - samples[1][0] >= self.window_s:
            samples.popleft()

    def rate(self, key: str) -> float | None:
        """Events per second of `key` over its window; None until it has two samples."""
        samples = self._samples.get(key)
        if samples is None or len(samples) < 2:
            return None
        (first_at, first), (last_at, last) = samples[0], samples[-1]
        return (last - first) / (last_at - first_at)

    def keep_only(self, keys: Iterable[str]) -> None:
        """Forget every counter but `keys` (an instance that left, a group not shown)."""
        wanted = set(keys)
        for key in [k for k in self._samples if k not in wanted]:
            del self._samples[key]
