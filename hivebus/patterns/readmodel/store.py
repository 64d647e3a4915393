"""The embedded store of one read model in one process: SQLite, so handlers can ask more
than "get by key" (`json_extract` over the JSON states, indexes, ordering).

An entry is written only when its version is newer than the stored one, so the projector's
own write-through and the changelog catching up with it later never go backwards. In
memory by default: a replica rebuilds it from the changelog when it starts.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from typing import Any

SCHEMA = """
create table if not exists entries (
    key text primary key,
    value text,
    version integer not null,
    updated_at text not null
)
"""


class Store:
    def __init__(self, path: str = ":memory:") -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()  # the changelog reader's thread and the event loop
        self._db.execute(SCHEMA)

    def put(self, key: str, value: str | None, version: int, updated_at: str) -> bool:
        """Store a state if it is newer than what is there; True when it was."""
        with self._lock:
            cursor = self._db.execute(
                "insert into entries values (?, ?, ?, ?) on conflict(key) do update set "
                "value = excluded.value, version = excluded.version, "
                "updated_at = excluded.updated_at where excluded.version > entries.version",
                (key, value, version, updated_at),
            )
            return cursor.rowcount > 0

    def entry(self, key: str) -> tuple[Any, int] | None:
        """(state, version) of `key`; None when it has none (a removed key keeps its version,
        with state None)."""
        with self._lock:
            row = self._db.execute(
                "select value, version from entries where key = ?", (key,)
            ).fetchone()
        if row is None:
            return None
        return (json.loads(row[0]) if row[0] is not None else None), int(row[1])

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """A read-only SQL query over `entries(key, value, version, updated_at)`."""
        if not sql.lstrip().lower().startswith(("select", "with")):
            raise ValueError("a read model answers only select queries")
        with self._lock:
            return list(self._db.execute(sql, params).fetchall())

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute(
                "select count(*) from entries where value is not null"
            ).fetchone()[0])  # fmt: skip
