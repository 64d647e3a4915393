"""The key file as a running gateway sees it: read at start, read again when it changes.

`hivebus gateway keys create|revoke` rewrite the file; the gateway notices within
`RECHECK_S` (one `stat` at most that often), so a revoked key is refused within a second,
with no restart. A file that cannot be read at start stops the gateway; one that turns bad
later (a hand edit) keeps the last good keys and is logged; one that is deleted refuses
every key (fail closed).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from hivebus.errors import ConfigError
from hivebus.gateway.auth.keys import KeyRecord, key_id, load
from hivebus.gateway.auth.principal import Principal

RECHECK_S = 1.0
log = logging.getLogger("hivebus.gateway.auth")


@dataclass(frozen=True)
class Refusal:
    """Why a request's key is not accepted: said to the client, with the RFC 6750 error
    code of the `WWW-Authenticate` challenge (None when no key was sent at all)."""

    message: str
    error: str | None = "invalid_token"


class KeyStore:
    def __init__(self, path: Path, recheck_s: float = RECHECK_S) -> None:
        self.path = path
        self._recheck_s = recheck_s
        self._stamp = self._stat()
        self._by_id = self._index(load(path))  # ConfigError at start: nothing is served
        self._checked = time.monotonic()

    def verify(self, key: str) -> Principal | Refusal:
        self._reload_if_changed()
        found = key_id(key)
        record = self._by_id.get(found) if found is not None else None
        if record is None or not record.matches(key):
            return Refusal("the API key is not valid (unknown or mistyped)")
        if not record.active:
            return Refusal(f"the API key {record.name!r} was revoked at {record.revoked_at}")
        return Principal(record.name, record.agents, record.id)

    @property
    def active(self) -> int:
        return sum(1 for r in self._by_id.values() if r.active)

    def _reload_if_changed(self) -> None:
        now = time.monotonic()
        if now - self._checked < self._recheck_s:
            return
        self._checked = now
        stamp = self._stat()
        if stamp == self._stamp:
            return
        self._stamp = stamp
        if stamp is None:
            log.error(
                "the key file %s is gone: every API key is refused until it is back", self.path
            )
            self._by_id = {}
            return
        try:
            self._by_id = self._index(load(self.path))
        except ConfigError as error:
            log.error("kept the previous API keys: %s", error)
            return
        log.info("read the key file %s again: %d active key(s)", self.path, self.active)

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            found = self.path.stat()
        except FileNotFoundError:
            return None
        return found.st_ino, found.st_mtime_ns, found.st_size

    @staticmethod
    def _index(records: list[KeyRecord]) -> dict[str, KeyRecord]:
        return {r.id: r for r in records}
