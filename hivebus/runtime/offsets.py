"""What is committed, and when: the one subtle part of the runtime, kept in one place.

Records of a partition complete out of order (many keys run concurrently), but Kafka stores
one offset per partition: "everything below this is done". So we commit the lowest offset
handed out and not yet complete (one past the newest when all are). A record completes only
when its handler has returned *and* every record it produced was acknowledged by the broker
(or it went to the dead-letter topic, also acknowledged). Completed offsets above the commit
ride in its metadata, so the next owner of the partition skips them. Offsets never handed out
between tracked ones (transaction markers, compacted records) count as complete: nothing there
is delivered. An earlier owner's completions beyond what we have reached are carried on.

`position()` only says what to commit; the acknowledged mark moves (never backwards) when the
caller reports the broker's answer, so a failed or unanswered commit keeps `needs_commit()`
true. When the runs exceed `budget` bytes the longest prefix that fits is kept and the rest
run again (at-least-once is the contract; metadata only saves work). That cut, or `max_window`
offsets from the lowest incomplete to the newest, makes `full()` true: the caller pauses
fetching the partition until completions shrink both.

Spelling: "hb2:" then comma-separated lowercase base-36 run lengths (each >= 1, an even count),
alternating incomplete and complete from the committed offset (itself incomplete): base 100
with {101, 102, 105} done is "hb2:1,2,2,1". The older "hb1:" (decimal steps from the base to
each completed offset in turn) is still read; anything else, or malformed, skips nothing.
When the runs are long (scattered completions), "hb3:" is a bitmap instead, base64url, bit i
(little-endian) for offset base + 1 + i: about 22,000 offsets of window in the budget whatever
their pattern, so a busy partition is not cut (and paused) merely because its acknowledgements
arrive out of order.
"""

from __future__ import annotations

import base64
import re
from bisect import bisect_right
from collections import deque
from collections.abc import Iterable
from itertools import accumulate, chain, pairwise

METADATA_BUDGET = 3800  # bytes of commit metadata we allow ourselves (broker default: 4096)
MAX_WINDOW = 50_000  # default bound on (newest tracked + 1) - lowest incomplete
PREFIX, OLD_PREFIX, BITMAP_PREFIX = "hb2:", "hb1:", "hb3:"
BITMAP_WORTH_IT = 200  # runs shorter than this are never worth a bitmap
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
_RUNS = re.compile(r"[0-9a-z]{1,13}(?:,[0-9a-z]{1,13})*")  # 36**13 > 2**63: any Kafka offset
_GAPS = re.compile(r"[0-9]{1,19}(?:,[0-9]{1,19})*")
_BITMAP = re.compile(r"[A-Za-z0-9_-]{1,40000}")
Span = tuple[int, int]  # completed offsets [start, stop)


class PartitionOffsets:
    """Offset bookkeeping for one assigned partition; `track`/`complete` are the hot path."""

    __slots__ = ("_acked", "_base", "_budget", "_cut", "_max_window", "_newest", "_open",
                 "_skip", "_skip_end", "_skip_starts", "_tracked")  # fmt: skip

    def __init__(
        self, committed: int | None = None, metadata: str | None = None, *,
        budget: int = METADATA_BUDGET, max_window: int = MAX_WINDOW,
    ) -> None:  # fmt: skip
        self._tracked: deque[int] = deque()  # handed out, ascending, from the lowest incomplete
        self._open: set[int] = set()  # tracked and not complete
        self._newest = -1  # newest tracked (Kafka offsets are >= 0)
        self._base = -1 if committed is None else committed
        self._skip = _decode(committed, metadata) if committed is not None else []
        self._skip_starts = [start for start, _ in self._skip]
        self._skip_end = self._skip[-1][1] if self._skip else 0
        self._acked = None if committed is None else (committed, metadata or "")
        self._budget, self._max_window, self._cut = budget, max_window, False

    def already_done(self, offset: int) -> bool:
        """True for a record that an earlier owner completed above its last commit."""
        if offset >= self._skip_end:
            return False
        i = bisect_right(self._skip_starts, offset) - 1
        return i >= 0 and offset < self._skip[i][1]

    def track(self, offset: int) -> None:
        """Register a record as handed out; a repeated or lower offset is ignored."""
        if offset > self._newest:
            self._tracked.append(offset)
            self._open.add(offset)
            self._newest = offset

    def complete(self, offset: int) -> None:
        """Mark a tracked record complete; repeats and untracked offsets change nothing."""
        open_, tracked = self._open, self._tracked
        if offset not in open_:  # done already (exactly-once completes at its transaction)
            return
        open_.remove(offset)
        if tracked[0] == offset:  # the lowest: move on to the next incomplete
            tracked.popleft()
            while tracked and tracked[0] not in open_:
                tracked.popleft()

    @property
    def in_progress(self) -> int:
        return len(self._open)

    @property
    def window(self) -> int:
        return self._newest + 1 - self._tracked[0] if self._open else 0

    def position(self) -> tuple[int, str] | None:
        """What to commit now: (lowest incomplete, metadata); changes no mark, notes any cut."""
        edge = self._newest + 1 if self._newest >= 0 else self._base  # where tracking ends
        if edge < 0:  # nothing tracked and no committed base: _cut is still False
            return None
        incomplete = sorted(self._open)
        spans = _merge(chain(
            ((a + 1, b) for a, b in pairwise([*incomplete, edge]) if b > a + 1),
            ((max(start, edge), stop) for start, stop in self._skip if stop > edge),
        ))  # fmt: skip
        low = incomplete[0] if incomplete else edge
        if spans and spans[0][0] == low:  # all ours done; an earlier owner did the next ones
            low = spans.pop(0)[1]
        text, self._cut = _spell(low, spans, self._budget)
        return low, text

    def to_commit(self) -> tuple[int, str] | None:
        """`position()` when the broker does not hold it yet, else None (one encoding)."""
        position = self.position()
        return None if position is None or position == self._acked else position

    def needs_commit(self) -> bool:
        """True until the broker holds what position() says: not sent, in flight or failed."""
        return (position := self.position()) is not None and position != self._acked

    def acknowledged(self, offset: int, metadata: str) -> None:
        """The broker accepted this commit; an older one acknowledged late is ignored."""
        if self._acked is None or offset >= self._acked[0]:
            self._acked = (offset, metadata)

    @property
    def acknowledged_offset(self) -> int | None:
        return None if self._acked is None else self._acked[0]

    def full(self) -> bool:
        """Pause fetching: the window is at its bound or the last position() was cut."""
        return self._cut or self.window >= self._max_window


def _merge(spans: Iterable[Span]) -> list[Span]:
    """Ascending spans with touching ones joined, so that every run is at least 1 long."""
    merged: list[Span] = []
    for start, stop in spans:
        if merged and merged[-1][1] == start:
            merged[-1] = (merged[-1][0], stop)
        else:
            merged.append((start, stop))
    return merged


def _b36(n: int) -> str:
    return _b36(n // 36) + _DIGITS[n % 36] if n else ""


def _spell(base: int, spans: list[Span], budget: int) -> tuple[str, bool]:
    """(metadata, cut): the shorter of runs and a bitmap; if neither fits, the longer prefix."""
    runs, runs_cut = _spell_runs(base, spans, budget)
    if not spans or (not runs_cut and len(runs) <= BITMAP_WORTH_IT):
        return runs, runs_cut
    bitmap, bitmap_cut = _spell_bitmap(base, spans, budget)
    if runs_cut and not bitmap_cut:
        return bitmap, False
    if not runs_cut:
        return (bitmap, False) if not bitmap_cut and len(bitmap) < len(runs) else (runs, False)
    # Both cut: keep whichever covers more offsets from the base.
    return max((runs, True), (bitmap, True), key=lambda text: _reach(base, text[0]))


def _spell_runs(base: int, spans: list[Span], budget: int) -> tuple[str, bool]:
    pairs: list[str] = []
    size, cursor = len(PREFIX) - 1, base
    for start, stop in spans:
        pairs.append(f"{_b36(start - cursor)},{_b36(stop - start)}")
        size, cursor = size + len(pairs[-1]) + 1, stop
        if size > budget:
            pairs.pop()
            break
    return (PREFIX + ",".join(pairs) if pairs else ""), len(pairs) < len(spans)


def _spell_bitmap(base: int, spans: list[Span], budget: int) -> tuple[str, bool]:
    """Bit i (little-endian) says whether offset base + 1 + i is complete, in base64url."""
    mask = 0
    for start, stop in spans:
        mask |= ((1 << (stop - start)) - 1) << (start - base - 1)
    raw = mask.to_bytes((mask.bit_length() + 7) // 8, "little")
    text = BITMAP_PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")
    if len(text) <= budget:
        return text, False
    keep = (budget - len(BITMAP_PREFIX)) // 4 * 3  # whole base64 groups: a prefix of the bits
    return BITMAP_PREFIX + base64.urlsafe_b64encode(raw[:keep]).decode().rstrip("="), True


def _reach(base: int, text: str) -> int:
    spans = _decode(base, text)
    return spans[-1][1] if spans else base


def encode_completed(
    base: int, completed: Iterable[int], budget: int = METADATA_BUDGET
) -> tuple[str, bool]:
    """(metadata, cut) for the completed offsets above `base`; cut when some did not fit."""
    return _spell(base, _merge((o, o + 1) for o in sorted(set(completed)) if o > base), budget)


def _decode(base: int, metadata: str | None) -> list[Span]:
    """Completed spans above `base`, as `hb2:` or `hb1:` metadata says; [] when malformed."""
    kind, body = (metadata or "")[:4], (metadata or "")[4:]
    if kind == PREFIX and _RUNS.fullmatch(body):
        runs = [int(run, 36) for run in body.split(",")]
        if len(runs) % 2 == 0 and min(runs) > 0:
            return list(pairwise(accumulate(runs, initial=base)))[1::2]
    elif kind == BITMAP_PREFIX and _BITMAP.fullmatch(body):
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        return _bits_to_spans(base + 1, raw)
    elif kind == OLD_PREFIX and _GAPS.fullmatch(body):
        steps = [int(step) for step in body.split(",")]
        if min(steps) > 0:
            return _merge((o, o + 1) for o in list(accumulate(steps, initial=base))[1:])
    return []


def _bits_to_spans(first: int, raw: bytes) -> list[Span]:
    mask, spans, offset = int.from_bytes(raw, "little"), [], first
    while mask:
        zeros = (mask & -mask).bit_length() - 1  # incomplete offsets before the next run
        mask >>= zeros
        offset += zeros
        ones = (~mask & (mask + 1)).bit_length() - 1  # the run of complete offsets
        spans.append((offset, offset + ones))
        mask >>= ones
        offset += ones
    return spans


def decode_completed(base: int, metadata: str | None) -> set[int]:
    """The completed offsets metadata names (for tests and tools; the class keeps spans)."""
    return {o for start, stop in _decode(base, metadata) for o in range(start, stop)}
