"""Confluent wire-format framing is checked before any registry call."""

from __future__ import annotations

import pytest

from hivebus.contracts import Serde, UndecodableRecord
from hivebus.contracts.wire import frame_header, schema_id_of


class NoRegistry:
    """Fails the test if framing errors ever reach the registry."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"the registry was called ({name}) for an unframed value")


def test_the_header_is_magic_byte_then_big_endian_id() -> None:
    assert frame_header(1) == b"\x00\x00\x00\x00\x01"
    assert frame_header(0x01020304) == b"\x00\x01\x02\x03\x04"
    assert schema_id_of(b"\x00\x01\x02\x03\x04avro") == 0x01020304


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        (b"", "has 0"),
        (b"\x00\x00\x00\x01", "has 4"),
        (b"\x01\x00\x00\x00\x01\x02", "the first byte is 1"),
        (b'{"json": true}', "the first byte is 123"),
    ],
)
def test_unframed_values_are_undecodable_without_a_registry(value: bytes, detail: str) -> None:
    serde = Serde(NoRegistry())  # type: ignore[arg-type]
    for call in (serde.writer, serde.decode_any):
        with pytest.raises(UndecodableRecord) as error:
            call(value)
        assert error.value.reason == "bad-magic-byte"
        assert detail in str(error.value)
