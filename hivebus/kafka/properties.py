"""`client.properties` files, the format Kafka's own tools take (`--command-config`):
`key=value` lines, each remembered with the file and line it came from.

The subset of Java's properties format that client files use: `#` and `!` comments, `=` or
`:` (or the first space) between key and value, a trailing backslash to continue a line, and
the escapes `\\t \\n \\r \\f \\uXXXX` (any other escaped character stands for itself). Unlike
Java, surrounding whitespace is trimmed from values too: a stray space after a password is a
mistake far more often than a password that ends in one. A line without a value is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from hivebus.errors import ConfigError

_SEPARATOR = re.compile(r"(?<!\\)(?:\\\\)*[=:]|(?<!\\)(?:\\\\)*\s")
_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)")


@dataclass(frozen=True)
class Setting:
    """One setting and where it came from: `client.properties line 4`, `KAFKA_SASL_USERNAME`."""

    key: str
    value: str
    origin: str


def read_properties(path: Path) -> list[Setting]:
    """Every `key=value` of the file in order (a later duplicate wins, as in Java)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read {path}: {error}") from None
    return parse_properties(text, str(path))


def parse_properties(text: str, name: str) -> list[Setting]:
    """The settings of a properties text; errors name `name` and the line."""
    settings = []
    for number, line in _logical_lines(text):
        where = f"{name} line {number}"
        match = _SEPARATOR.search(line)
        if match is None:
            raise ConfigError(f"{where}: expected key=value, got {line!r}")
        separator = match.end() - 1
        key = _unescape(line[:separator])
        rest = line[separator + 1 :].lstrip(" \t\f")
        if line[separator].isspace() and rest[:1] in ("=", ":"):
            rest = rest[1:]
        value = _unescape(rest.strip())
        if not key:
            raise ConfigError(f"{where}: a setting without a key")
        if not value:
            raise ConfigError(f"{where}: {key} has no value")
        settings.append(Setting(key, value, where))
    return settings


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, joined text) of each non-comment line, continuations joined."""
    lines: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.lstrip(" \t\f")
        if pending is None and (not line or line[0] in "#!"):
            continue
        start, joined = pending if pending is not None else (number, "")
        continued = (len(line) - len(line.rstrip("\\"))) % 2 == 1
        joined += line[:-1] if continued else line
        pending = (start, joined) if continued else None
        if not continued:
            lines.append((start, joined))
    if pending is not None:
        lines.append(pending)
    return lines


def _unescape(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        code = match.group(1)
        if code.startswith("u") and len(code) == 5:
            return chr(int(code[1:], 16))
        return _ESCAPES.get(code, code)

    return _ESCAPE.sub(one, text)
