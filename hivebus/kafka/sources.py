"""Where connection settings come from: the properties file named by `HIVEBUS_KAFKA_CONFIG`
and a few well-known environment variables, each setting kept with its origin.

Keys of the file that start with `schema.registry.`, `basic.auth.` or `bearer.auth.` belong
to the schema registry client (Confluent's convention for one shared client file); all others
are librdkafka's. A variable for a secret may instead name a file holding it (`<NAME>_FILE`,
as with Docker and Kubernetes secrets).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from hivebus.errors import ConfigError
from hivebus.kafka.properties import Setting, read_properties
from hivebus.kafka.secrets import is_secret

CONFIG_ENV = "HIVEBUS_KAFKA_CONFIG"
BOOTSTRAP_ENV = "KAFKA_BOOTSTRAP_SERVERS"
FILE_SUFFIX = "_FILE"
REGISTRY_PREFIXES = ("schema.registry.", "basic.auth.", "bearer.auth.")

# The variables librdkafka settings are read from. Only these: a rule mapping every KAFKA_*
# variable would pick up KAFKA_HOME, KAFKA_OPTS and KAFKA_HEAP_OPTS of Kafka's own scripts.
KAFKA_VARIABLES = {
    BOOTSTRAP_ENV: "bootstrap.servers",
    "KAFKA_SECURITY_PROTOCOL": "security.protocol",
    "KAFKA_SASL_MECHANISM": "sasl.mechanism",
    "KAFKA_SASL_USERNAME": "sasl.username",
    "KAFKA_SASL_PASSWORD": "sasl.password",
    "KAFKA_SSL_CA_LOCATION": "ssl.ca.location",
    "KAFKA_SSL_CERTIFICATE_LOCATION": "ssl.certificate.location",
    "KAFKA_SSL_KEY_LOCATION": "ssl.key.location",
    "KAFKA_SSL_KEY_PASSWORD": "ssl.key.password",
    "KAFKA_SSL_ENDPOINT_IDENTIFICATION_ALGORITHM": "ssl.endpoint.identification.algorithm",
}


@dataclass(frozen=True)
class ConnectionFile:
    """The settings of the file named by `HIVEBUS_KAFKA_CONFIG` (none when it is unset)."""

    path: Path | None
    kafka: tuple[Setting, ...] = ()
    registry: tuple[Setting, ...] = ()


def connection_file() -> ConnectionFile:
    """The file's settings, split between librdkafka and the registry; re-read when it changes."""
    name = os.environ.get(CONFIG_ENV, "").strip()
    if not name:
        return ConnectionFile(None)
    path = Path(name).expanduser()
    if not path.is_file():
        raise ConfigError(f"{CONFIG_ENV} names {path}, which is not a file")
    stat = path.stat()
    return _read(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _read(path: Path, mtime_ns: int, size: int) -> ConnectionFile:
    settings = read_properties(path)
    registry = tuple(s for s in settings if s.key.startswith(REGISTRY_PREFIXES))
    kafka = tuple(s for s in settings if not s.key.startswith(REGISTRY_PREFIXES))
    return ConnectionFile(path, kafka, registry)


def from_environment(variables: Mapping[str, str]) -> list[Setting]:
    """The settings the set variables give, by the `variables` table (name -> setting key)."""
    found = []
    for name, key in variables.items():
        value = _variable(name, secret=is_secret(key))
        if value is not None:
            found.append(Setting(key, value[0], value[1]))
    return found


def fingerprint(variables: Iterable[str]) -> tuple[object, ...]:
    """What a cached configuration depends on: the variables (and `_FILE` twins), the files
    they name, and the connection file; equal fingerprints mean an equal configuration."""
    parts: list[object] = []
    for name in (CONFIG_ENV, *variables):
        for each in (name, name + FILE_SUFFIX):
            value = os.environ.get(each)
            parts.append((each, value, _stamp(value) if value and each != name else None))
    config = os.environ.get(CONFIG_ENV)
    parts.append(_stamp(config) if config else None)
    return tuple(parts)


def _variable(name: str, *, secret: bool) -> tuple[str, str] | None:
    """(value, origin) of a variable, or of the file its `_FILE` twin names (secrets only)."""
    value = os.environ.get(name, "").strip()
    file_name = os.environ.get(name + FILE_SUFFIX, "").strip() if secret else ""
    if value and file_name:
        raise ConfigError(f"set {name} or {name}{FILE_SUFFIX}, not both")
    if value:
        return value, name
    if not file_name:
        return None
    origin = f"{name}{FILE_SUFFIX} ({file_name})"
    try:
        text = Path(file_name).expanduser().read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{name}{FILE_SUFFIX}: cannot read {file_name}: {error}") from None
    if not text:
        raise ConfigError(f"{name}{FILE_SUFFIX}: {file_name} is empty")
    return text, origin


def _stamp(name: str) -> tuple[int, int] | None:
    try:
        stat = Path(name).expanduser().stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size
