"""Dead-letter headers keep the originals and add hivebus_error_* fields that strip cleanly."""

from __future__ import annotations

from typing import Any

from hivebus.runtime.deadletter import Failure, dead_letter_headers, dlq_topic, strip_error_headers


class _Message:
    def topic(self) -> str:
        return "orders"

    def partition(self) -> int:
        return 2

    def offset(self) -> int:
        return 41

    def headers(self) -> list[tuple[str, bytes]]:
        return [("ce_id", b"abc"), ("trace", b"t")]

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(name)


def test_error_headers_round_trip_and_originals_survive() -> None:
    headers = dead_letter_headers(_Message(), "billing", Failure("handler", "KeyError", "boom", 3))  # type: ignore[arg-type]
    original, error = strip_error_headers(headers)
    assert original == [("ce_id", b"abc"), ("trace", b"t")]
    assert error["kind"] == "handler"
    assert error["type"] == "KeyError"
    assert error["attempts"] == "3"
    assert (error["topic"], error["partition"], error["offset"]) == ("orders", "2", "41")
    assert error["agent"] == "billing"
    assert dlq_topic("billing") == "hivebus.dlq.billing"
