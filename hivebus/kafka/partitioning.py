"""Which partition a key goes to: the Java client's default partitioner, which hivebus's
producers use too (`partitioner=murmur2_random`, see defaults.py), so code that groups
records by partition before producing them agrees with where the producer puts each key."""

from __future__ import annotations

import struct

_SEED = 0x9747B28C
_M = 0x5BD1E995
_U32 = 0xFFFFFFFF
_WORDS = [struct.Struct(f"<{n}I").unpack_from for n in range(65)]  # keys of up to 260 bytes


def murmur2(data: bytes) -> int:
    """MurmurHash2 as Kafka computes it (`org.apache.kafka.common.utils.Utils.murmur2`)."""
    length = len(data)
    h = (_SEED ^ length) & _U32
    words = length >> 2
    unpack = _WORDS[words] if words < len(_WORDS) else struct.Struct(f"<{words}I").unpack_from
    for k in unpack(data):  # little-endian 32-bit words, all read at once
        k = k * _M & _U32
        h = (h * _M & _U32) ^ ((k ^ (k >> 24)) * _M & _U32)
    rest = length & 3
    if rest:  # the last 1 to 3 bytes
        end = words << 2
        if rest == 3:
            h ^= data[end + 2] << 16
        if rest >= 2:
            h ^= data[end + 1] << 8
        h = (h ^ data[end]) * _M & _U32
    h = (h ^ (h >> 13)) * _M & _U32
    return h ^ (h >> 15)


def partition_of(key: bytes, partitions: int) -> int:
    """The partition of a non-null `key` among `partitions`."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions
