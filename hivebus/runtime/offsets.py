"""What is committed, and when: the one subtle part of the runtime, kept in one place.

Records of a partition complete out of order (many keys run concurrently), but Kafka stores
one offset per partition: "everything below this is done". So each partition keeps the
offsets it has handed out, in order, and commits the lowest one not yet complete. A record
completes only when its handler has returned *and* every record it produced has been
acknowledged by the broker (or it went to the dead-letter topic, also acknowledged).

Records completed above the committed offset would be re-run after a crash or rebalance. To
skip them where possible, their offsets ride along in the commit's metadata (Kafka keeps up to
`offset.metadata.max.bytes`, 4 KiB by default) as a delta list; whoever is assigned the
partition next reads them back and marks those records complete without running them.
When the list does not fit, it is left out and those records simply run again
(at-least-once is the contract; the metadata only saves work).
"""

from __future__ import annotations

from collections import deque

METADATA_PREFIX = "hb1:"
MAX_METADATA_CHARS = 3500


class PartitionOffsets:
    """Offset bookkeeping for one assigned partition."""

    __slots__ = ("_committed", "_done", "_next", "_pending", "_skip")

    def __init__(self, committed: int | None = None, metadata: str | None = None) -> None:
        self._pending: deque[int] = deque()  # handed out, in order, not yet committable
        self._done: set[int] = set()  # completed members of _pending
        self._next: int | None = None  # one past the highest offset handed out
        self._committed = committed  # the offset most recently returned by committable()
        self._skip = decode_completed(committed, metadata) if committed is not None else set()

    def already_done(self, offset: int) -> bool:
        """True for a record that an earlier owner completed above its last commit."""
        return offset in self._skip

    def track(self, offset: int) -> None:
        """Register a record as handed out; offsets arrive in ascending order."""
        self._pending.append(offset)
        self._next = offset + 1

    def complete(self, offset: int) -> None:
        pending, done = self._pending, self._done
        done.add(offset)
        while pending and pending[0] in done:
            done.discard(pending.popleft())

    @property
    def in_progress(self) -> int:
        """Records handed out and not yet complete."""
        return len(self._pending) - len(self._done)

    def committable(self) -> tuple[int, str] | None:
        """The offset to commit (lowest incomplete) with its metadata; None if unchanged."""
        if self._pending:
            offset = self._pending[0]
        elif self._next is not None:
            offset = self._next
        else:
            return None
        if offset == self._committed and not self._done:
            return None
        self._committed = offset
        return offset, encode_completed(offset, self._done)


def encode_completed(base: int, completed: set[int]) -> str:
    """`hb1:` then the completed offsets above `base` as comma-separated deltas."""
    if not completed:
        return ""
    parts, previous = [], base
    for offset in sorted(completed):
        parts.append(str(offset - previous))
        previous = offset
    text = METADATA_PREFIX + ",".join(parts)
    return text if len(text) <= MAX_METADATA_CHARS else ""


def decode_completed(base: int, metadata: str | None) -> set[int]:
    """The inverse of `encode_completed`; anything unrecognised means "nothing to skip"."""
    if not metadata or not metadata.startswith(METADATA_PREFIX):
        return set()
    offsets, current = set(), base
    try:
        for delta in metadata[len(METADATA_PREFIX) :].split(","):
            current += int(delta)
            offsets.add(current)
    except ValueError:
        return set()
    return offsets
