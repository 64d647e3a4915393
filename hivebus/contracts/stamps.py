"""Event ids and event times, cheap enough to stamp every event.

Ids are a random per-process prefix plus a counter: unique per source without a syscall or a
UUID per event. A forked child draws a new prefix, so parent and child never share ids. Times
are RFC 3339 in UTC with milliseconds, formatted at most once per millisecond.
"""

from __future__ import annotations

import itertools
import os
import time


class EventIds:
    """`<16 hex chars>-<counter in hex>`; safe to share across threads (one `next` per id)."""

    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._prefix = os.urandom(8).hex() + "-"
        self._prefix_bytes = self._prefix.encode()
        self._counter = itertools.count(1)

    def next(self) -> str:
        return f"{self._prefix}{next(self._counter):x}"

    def next_bytes(self) -> bytes:
        """`next`, already encoded: what a header carries."""
        return b"%b%x" % (self._prefix_bytes, next(self._counter))


class Clock:
    """The current time as RFC 3339 bytes, e.g. `2025-01-31T12:00:00.123Z`."""

    def __init__(self) -> None:
        # One tuple, replaced whole, so a reader on another thread never sees half an update.
        self._cached: tuple[int, bytes] = (-1, b"")

    def now(self) -> bytes:
        millis = time.time_ns() // 1_000_000
        cached = self._cached
        if cached[0] == millis:
            return cached[1]
        text = rfc3339(millis).encode()
        self._cached = (millis, text)
        return text


def rfc3339(millis: int) -> str:
    """Milliseconds since the epoch as an RFC 3339 UTC timestamp."""
    seconds, ms = divmod(millis, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{ms:03d}Z"


EVENT_IDS = EventIds()
CLOCK = Clock()
