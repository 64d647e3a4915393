"""A progress line for long reads and replays: done / total, percent, rate and ETA.

On a terminal it redraws one line in place; elsewhere (a log, a pipe, CI) it prints a line
every few seconds, so the output stays readable.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

BAR = 24
EVERY_S = {True: 0.2, False: 5.0}  # how often a line is drawn: terminal, elsewhere


class Progress:
    def __init__(self, label: str, total: int, *, out: TextIO | None = None) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self._out = out if out is not None else sys.stderr
        self._tty = bool(getattr(self._out, "isatty", lambda: False)())
        self._started = time.monotonic()
        self._drawn = 0.0
        self._finished = False
        self._drawn_done = -1  # `done` when a line was last drawn

    def update(self, done: int, total: int | None = None) -> None:
        self.done = done
        if total is not None:
            self.total = total
        now = time.monotonic()
        if now - self._drawn >= EVERY_S[self._tty]:
            self._drawn = now
            self._draw(self.line())

    def finish(self, message: str | None = None) -> None:
        """Draw the last line (or `message`), once."""
        if self._finished:
            return
        self._finished = True
        if message is None and not self._tty and self._drawn_done == self.done:
            return  # the last line drawn says it all already
        self._draw(message if message is not None else self.line(), last=True)

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self._started

    @property
    def rate(self) -> float:
        elapsed = self.elapsed_s
        return self.done / elapsed if elapsed > 0 else 0.0

    def line(self) -> str:
        total = max(self.total, self.done)
        share = self.done / total if total else 1.0
        filled = int(share * BAR)
        bar = "#" * filled + "." * (BAR - filled)
        rate = self.rate
        left = (total - self.done) / rate if rate > 0 else None
        eta = f"ETA {_duration(left)}" if left is not None and self.done < total else ""
        return (
            f"{self.label} [{bar}] {self.done:,}/{total:,} ({share:.0%}) "
            f"{rate:,.0f}/s {_duration(self.elapsed_s)} {eta}"
        ).rstrip()

    def _draw(self, text: str, *, last: bool = False) -> None:
        self._drawn_done = self.done
        if self._tty:
            self._out.write("\r\x1b[2K" + text + ("\n" if last else ""))
        else:
            self._out.write(text + "\n")
        self._out.flush()


def _duration(seconds: float) -> str:
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
