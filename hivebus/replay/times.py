"""The times `--from` and `--to` accept, as epoch milliseconds (Kafka's record timestamps)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

from hivebus.errors import ConfigError

_AGO = re.compile(r"^-?\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)(?:\s+ago)?$")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


def parse_time(text: str, *, now_ms: int | None = None, option: str = "time") -> int:
    """ISO 8601 (`2025-05-01T12:00:00Z`; without an offset, UTC), epoch milliseconds, `now`,
    or a duration before now (`90m`, `2h`, `1d ago`)."""
    now = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    value = text.strip()
    if value == "now":
        return now
    if value.isdigit():
        return int(value)
    if match := _AGO.match(value):
        return now - int(float(match[1]) * _UNIT_MS[match[2]])
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(
            f"{option} {text!r} is not a time: give ISO 8601 (2025-05-01T12:00:00Z), epoch "
            "milliseconds, 'now', or a duration before now (90m, 2h, 1d)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def show_time(ms: int | None) -> str:
    """An epoch-milliseconds time as ISO 8601 UTC, for summaries."""
    if ms is None:
        return "-"
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
