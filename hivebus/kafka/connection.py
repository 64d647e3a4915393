"""The connection configuration every hivebus client shares: `bootstrap.servers`, TLS, SASL
and any other librdkafka client setting, so any managed Kafka works with every command.

Precedence, lowest first (docs/connections.md):
  1. the local dev stack's address (`127.0.0.1:19092`);
  2. the properties file named by `HIVEBUS_KAFKA_CONFIG` (Kafka tools' `client.properties`);
  3. environment variables (`KAFKA_BOOTSTRAP_SERVERS`, `KAFKA_SASL_PASSWORD`, ... in
     `sources.KAFKA_VARIABLES`), so one setting of a shared file can be changed per process
     and a secret can come from a Kubernetes Secret while the rest is a ConfigMap;
  4. per client, what the caller sets (`consumer_config`/`producer_config` overrides, the
     command line's `--producer-config`).
The result is checked once per change of its inputs (variables, files) and then cached.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from hivebus.kafka.connection_checks import check_connection
from hivebus.kafka.defaults import DEFAULT_BOOTSTRAP
from hivebus.kafka.properties import Setting
from hivebus.kafka.scope import ClientKind, applicable
from hivebus.kafka.secrets import is_secret, shown
from hivebus.kafka.sources import KAFKA_VARIABLES, connection_file, fingerprint, from_environment

DEFAULT_ORIGIN = "the default: the local dev stack"


@dataclass(frozen=True)
class Connection:
    """The effective settings, each with where it came from."""

    settings: Mapping[str, Setting]

    def values(self) -> dict[str, str]:
        return {key: setting.value for key, setting in self.settings.items()}

    def origin(self, key: str) -> str | None:
        setting = self.settings.get(key)
        return setting.origin if setting is not None else None

    def where(self, key: str) -> str:
        """`key (from <origin>)`, for messages that send the user to a setting."""
        origin = self.origin(key)
        return f"{key} (from {origin})" if origin else f"{key} (not set)"

    def secrets(self) -> list[str]:
        """The secret values, for masking any message that might quote one."""
        return [s.value for s in self.settings.values() if is_secret(s.key)]

    def lines(self) -> list[str]:
        """`key=value  (origin)` per setting, secrets masked: safe to print."""
        return [f"{s.key}={shown(s.key, s.value)}  ({s.origin})" for s in self.settings.values()]


_last: tuple[tuple[object, ...], Connection] | None = None  # (inputs, their result)


def connection() -> Connection:
    """The connection configuration of this process, checked; ConfigError names a bad setting
    and where it came from."""
    global _last
    stamp = fingerprint(KAFKA_VARIABLES)
    if _last is not None and _last[0] == stamp:
        return _last[1]
    merged = {"bootstrap.servers": Setting("bootstrap.servers", DEFAULT_BOOTSTRAP, DEFAULT_ORIGIN)}
    for setting in (*connection_file().kafka, *from_environment(KAFKA_VARIABLES)):
        merged[setting.key] = setting
    found = Connection(merged)
    check_connection(found.settings)
    _last = (stamp, found)
    return found


def connection_settings(kind: ClientKind) -> dict[str, str]:
    """The librdkafka settings a `kind` client starts from (those it would ignore left out)."""
    return applicable(kind, connection().values())


def bootstrap_servers() -> str:
    """The bootstrap servers every hivebus client connects to."""
    return connection().values()["bootstrap.servers"]


def configured_bootstrap() -> str | None:
    """The bootstrap servers when configured (file or variable), None for the default."""
    found = connection()
    explicit = found.origin("bootstrap.servers") != DEFAULT_ORIGIN
    return found.values()["bootstrap.servers"] if explicit else None
