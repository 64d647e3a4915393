"""Which settings a client ignores: librdkafka applies a consumer-only setting
(`session.timeout.ms`) to no producer and warns each time one is given it, so settings that
reach every client (the connection file's) are kept from clients that would only warn.

librdkafka itself judges, as `judge.py` does for validity: a throwaway client is given the
one setting and its warning, if any, is read from a logger, once per setting and kind.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Literal

from confluent_kafka import Consumer, Producer

ClientKind = Literal["consumer", "producer", "admin"]


def applicable(kind: ClientKind, settings: Mapping[str, str]) -> dict[str, str]:
    """`settings` without those a `kind` client would ignore (and warn about)."""
    handle = "consumer" if kind == "consumer" else "producer"  # an admin client is a producer
    return {k: v for k, v in settings.items() if not _ignored(handle, k, v)}


class _Warnings:
    """The logger confluent_kafka hands librdkafka's messages to (its `logger` setting)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def log(self, level: int, template: str, *args: object) -> None:
        self.lines.append(template % args if args else template)


@lru_cache(maxsize=256)
def _ignored(handle: str, key: str, value: str) -> bool:
    warnings = _Warnings()
    config = {key: value, "logger": warnings}
    try:
        if handle == "consumer":
            Consumer({**config, "group.id": "hivebus-scope"}).close()
        else:
            Producer(config).flush(0)
    except Exception:  # an invalid setting is not this module's to judge: keep it
        return False
    return any(f"will be ignored by this {handle} instance" in line for line in warnings.lines)
