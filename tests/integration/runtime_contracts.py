"""Contracts the runtime tests publish and handle."""

from __future__ import annotations

from pathlib import Path

from hivebus import Record

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas" / "runtime"


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
