"""Where a key lives: the partition the Java client (and hivebus's producers) put it on.

A run's journal is on the partition its run id hashes to, so the gateway reads that one
partition of `hivebus.journal.<agent>` and never scans the others.
"""

from __future__ import annotations

_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Kafka's `Utils.murmur2` (seed 0x9747b28c), as an unsigned 32-bit value."""
    size = len(data)
    h = (0x9747B28C ^ size) & _MASK
    whole = size - size % 4
    for i in range(0, whole, 4):
        k = (int.from_bytes(data[i : i + 4], "little") * _M) & _MASK
        k = ((k ^ (k >> 24)) * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    tail = data[whole:]
    for index in reversed(range(len(tail))):
        h ^= tail[index] << (8 * index)
    if tail:
        h = (h * _M) & _MASK
    h = ((h ^ (h >> 13)) * _M) & _MASK
    return h ^ (h >> 15)


def partition_for(key: str, partitions: int) -> int:
    """The partition of `key` among `partitions` (the Java client's default partitioner)."""
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions
