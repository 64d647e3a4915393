"""The gateway's API keys and the file that keeps them: only hashes, never a secret.

A key reads `hb_<id>_<secret>`: `id` is 12 hex digits, public, and names the key's entry in
the file, so finding the entry for a presented key is one dict lookup; `secret` is 32 random
bytes from `secrets` (URL-safe base64). The file keeps `sha256(key)` of each.

Why SHA-256 and not scrypt/PBKDF2: slow, salted hashes exist for passwords people choose,
which are guessable; they make each guess of a stolen file cost. A 256-bit random secret
cannot be guessed at any hashing speed, and a per-key salt adds nothing against tables that
cannot exist for such secrets. A slow hash would instead cost every request (and every
stream connection) tens of milliseconds of CPU: a way to tie up the gateway with bad keys.
The digest is compared in constant time (`hmac.compare_digest`).

The file is JSON, written whole to a temporary file and moved over the old one, readable
by its owner only: `{"hivebus_gateway_keys": 1, "keys": [{id, name, hash, agents,
created_at, revoked_at}]}`. A revoked key stays listed, with when it was revoked.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hivebus.envvars import env
from hivebus.errors import ConfigError

KEYS_ENV = "HIVEBUS_GATEWAY_KEYS"
FORMAT = "hivebus_gateway_keys"
VERSION = 1
PREFIX = "hb"
_ID = re.compile(r"[0-9a-f]{12}")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_PATTERN = re.compile(r"[A-Za-z0-9._*?\[\]!-]+")  # agent names and fnmatch wildcards


@dataclass(frozen=True)
class KeyRecord:
    """One key as the file has it (its hash, never its secret)."""

    id: str
    name: str
    hash: str  # "sha256:<hex>" of the whole key
    agents: tuple[str, ...]  # fnmatch patterns of the agents the key may use
    created_at: str
    revoked_at: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def matches(self, key: str) -> bool:
        return hmac.compare_digest(self.hash, digest(key))


def keys_file_from_env() -> Path | None:
    """The key file named by HIVEBUS_GATEWAY_KEYS, if any."""
    value = env(KEYS_ENV)
    return Path(value).expanduser() if value else None


def digest(key: str) -> str:
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def key_id(key: str) -> str | None:
    """The id part of a presented key, or None when it is not shaped like one."""
    prefix, _, rest = key.partition("_")
    found, _, secret = rest.partition("_")
    return found if prefix == PREFIX and _ID.fullmatch(found) and secret else None


def new_key(name: str, agents: list[str], taken: list[KeyRecord]) -> tuple[str, KeyRecord]:
    """A fresh key (shown once) and its record for the file."""
    check_name(name)
    if any(r.name == name and r.active for r in taken):
        raise ConfigError(f"an active key is named {name!r} already: revoke it or pick a name")
    patterns = check_agents(agents)
    ids = {r.id for r in taken}
    while (found := secrets.token_hex(6)) in ids:
        pass
    key = f"{PREFIX}_{found}_{secrets.token_urlsafe(32)}"
    return key, KeyRecord(found, name, digest(key), patterns, _now())


def revoke(records: list[KeyRecord], which: str) -> tuple[list[KeyRecord], KeyRecord]:
    """The records with the active key named (or with id) `which` revoked."""
    hits = [r for r in records if r.active and which in (r.name, r.id)]
    if not hits:
        known = ", ".join(f"{r.name} ({r.id})" for r in records if r.active) or "none"
        raise ConfigError(f"no active key named {which!r}; active keys: {known}")
    done = replace(hits[0], revoked_at=_now())
    return [done if r is hits[0] else r for r in records], done


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise ConfigError(
            f"a key's name is 1-64 letters, digits, '.', '_' or '-' (first a letter or digit), "
            f"got {name!r}"
        )
    return name


def check_agents(agents: list[str]) -> tuple[str, ...]:
    """The agent patterns, each an agent name or an fnmatch pattern (`fraud-*`, `*`)."""
    patterns = tuple(a.strip() for a in agents if a.strip())
    if not patterns:
        raise ConfigError("name the agents the key may use, e.g. --agents 'fraud-*,research'")
    for pattern in patterns:
        if not _PATTERN.fullmatch(pattern):
            raise ConfigError(
                f"{pattern!r} is not an agent name or pattern (letters, digits, '.', '_', "
                "'-' and the wildcards '*', '?', '[...]')"
            )
    return patterns


def load(path: Path) -> list[KeyRecord]:
    """The file's records; ConfigError naming the file and what is wrong with it."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"no key file {path}: create it with `hivebus gateway keys create NAME --agents ...`"
        ) from None
    except (OSError, ValueError) as error:
        raise ConfigError(f"cannot read the key file {path}: {error}") from None
    if not isinstance(data, dict) or data.get(FORMAT) != VERSION:
        raise ConfigError(f"{path} is not a hivebus key file (no '{FORMAT}': {VERSION})")
    entries = data.get("keys")
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: 'keys' must be a list")
    records = [_record(path, i, entry) for i, entry in enumerate(entries)]
    if len({r.id for r in records}) != len(records):
        raise ConfigError(f"{path}: two keys have the same 'id'")
    return records


def save(path: Path, records: list[KeyRecord]) -> None:
    """Write the file whole, owner-only, replacing the old one in one step."""
    entries = [{**asdict(r), "agents": list(r.agents)} for r in records]
    text = json.dumps({FORMAT: VERSION, "keys": entries}, indent=2) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:  # mkstemp makes it 0600
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load_or_empty(path: Path) -> list[KeyRecord]:
    """For `keys create`: a file that does not exist yet has no keys."""
    return load(path) if path.exists() else []


def _record(path: Path, index: int, entry: Any) -> KeyRecord:
    where = f"{path}: key #{index + 1}"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where} must be an object")
    try:
        record = KeyRecord(
            id=str(entry["id"]),
            name=str(entry["name"]),
            hash=str(entry["hash"]),
            agents=tuple(str(a) for a in entry["agents"]),
            created_at=str(entry.get("created_at", "")),
            revoked_at=None if entry.get("revoked_at") is None else str(entry["revoked_at"]),
        )
    except (KeyError, TypeError) as error:
        raise ConfigError(f"{where} lacks or misshapes {error}") from None
    if not _ID.fullmatch(record.id) or not record.hash.startswith("sha256:"):
        raise ConfigError(f"{where} has a malformed 'id' or 'hash'")
    try:
        check_agents(list(record.agents))
    except ConfigError as error:
        raise ConfigError(f"{where}: {error}") from None
    return record


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
