"""Which causal trees are audited: decided by the correlation id alone, so every agent that
takes part in one piece of work keeps it, or drops it, the same way, in any process."""

from __future__ import annotations

import hashlib

_SCALE = float(1 << 64)


def kept(correlation_id: bytes, sample: float) -> bool:
    """True when the tree of `correlation_id` is audited at rate `sample` (0 to 1)."""
    if sample >= 1.0:
        return True
    if sample <= 0.0:
        return False
    digest = hashlib.blake2b(correlation_id, digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE < sample
