"""The replica tests' contracts, imported relatively as agent folders do."""

from __future__ import annotations

from pathlib import Path

from hivebus import Record

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "runtime"


class Ping(Record, avsc=SCHEMAS / "Ping.avsc"):
    id: str
    key: str
    seq: int
    payload: str = ""


class Pong(Record, avsc=SCHEMAS / "Pong.avsc"):
    id: str
    key: str
    seq: int
    handled_by: str = ""
