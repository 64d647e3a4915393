"""Confluent wire format framing: magic byte 0, a 4-byte big-endian schema id, then Avro binary.

Kept apart from the registry so framing errors are found (and tested) without one.
"""

from __future__ import annotations

from hivebus.contracts.errors import BAD_MAGIC_BYTE, UndecodableRecord

MAGIC = 0
HEADER_SIZE = 5


def frame_header(schema_id: int) -> bytes:
    """The five bytes every value written with `schema_id` starts with."""
    return bytes([MAGIC]) + schema_id.to_bytes(4, "big")


def schema_id_of(value: bytes) -> int:
    """The schema id a value was written with; `UndecodableRecord` when it is not framed."""
    if len(value) < HEADER_SIZE:
        raise UndecodableRecord(
            BAD_MAGIC_BYTE,
            f"a Confluent-framed value has at least {HEADER_SIZE} bytes, this one has {len(value)}",
        )
    if value[0] != MAGIC:
        raise UndecodableRecord(
            BAD_MAGIC_BYTE, f"the first byte is {value[0]}, not {MAGIC}: not Confluent wire format"
        )
    return int.from_bytes(value[1:HEADER_SIZE], "big")
