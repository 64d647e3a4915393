"""The schema registry client's connection: its URL, basic or bearer credentials, and TLS,
from the same places as Kafka's (docs/connections.md), lowest precedence first:

  1. the local dev stack's URL;
  2. the file named by `HIVEBUS_KAFKA_CONFIG`: `schema.registry.url`, `basic.auth.user.info`,
     `bearer.auth.*` and `schema.registry.<client setting>` (`schema.registry.ssl.ca.location`),
     as in the client files Confluent's tools take;
  3. environment variables (`REGISTRY_VARIABLES`), `_FILE` twins for secrets.

The registry's TLS is its own (`schema.registry.ssl.ca.location`): Kafka's `ssl.ca.location`
is not assumed to have signed the registry's certificate, which is often a public one.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from confluent_kafka.schema_registry import SchemaRegistryClient

from hivebus.errors import ConfigError
from hivebus.kafka.connection import connection
from hivebus.kafka.defaults import DEFAULT_HOST
from hivebus.kafka.properties import Setting
from hivebus.kafka.secrets import is_secret, redact, shown
from hivebus.kafka.sources import (
    KAFKA_VARIABLES,
    connection_file,
    fingerprint,
    from_environment,
)

REGISTRY_ENV = "SCHEMA_REGISTRY_URL"
USER_INFO_ENV = "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO"
DEFAULT_REGISTRY_PORT = 18081
CCOMPAT_PATH = "/apis/ccompat/v7"
DEFAULT_REGISTRY_URL = f"http://{DEFAULT_HOST}:{DEFAULT_REGISTRY_PORT}{CCOMPAT_PATH}"
DEFAULT_ORIGIN = "the default: the local dev stack"
FILE_PREFIX = "schema.registry."

REGISTRY_VARIABLES = {
    REGISTRY_ENV: "url",
    USER_INFO_ENV: "basic.auth.user.info",
    "SCHEMA_REGISTRY_BEARER_AUTH_TOKEN": "bearer.auth.token",
    "SCHEMA_REGISTRY_BEARER_AUTH_LOGICAL_CLUSTER": "bearer.auth.logical.cluster",
    "SCHEMA_REGISTRY_BEARER_AUTH_IDENTITY_POOL_ID": "bearer.auth.identity.pool.id",
    "SCHEMA_REGISTRY_SSL_CA_LOCATION": "ssl.ca.location",
    "SCHEMA_REGISTRY_SSL_CERTIFICATE_LOCATION": "ssl.certificate.location",
    "SCHEMA_REGISTRY_SSL_KEY_LOCATION": "ssl.key.location",
    "SCHEMA_REGISTRY_SSL_KEY_PASSWORD": "ssl.key.password",
}
# Java clients' `basic.auth.credentials.source`: where the basic credentials are.
_SOURCES = ("USER_INFO", "URL", "SASL_INHERIT")


@dataclass(frozen=True)
class RegistryConnection:
    """The registry client's effective settings, each with where it came from."""

    settings: Mapping[str, Setting]

    def config(self) -> dict[str, Any]:
        """The `SchemaRegistryClient` configuration (without timeouts and retries)."""
        return {key: setting.value for key, setting in self.settings.items()}

    @property
    def url(self) -> str:
        return self.settings["url"].value

    def where(self, key: str) -> str:
        setting = self.settings.get(key)
        return f"{key} (from {setting.origin})" if setting else f"{key} (not set)"

    def credentials_hint(self) -> str:
        """Which credentials were sent, or how to send some: for a 401 or 403."""
        for key in ("basic.auth.user.info", "bearer.auth.token", "bearer.auth.credentials.source"):
            if key in self.settings:
                return f"check {self.where(key)}"
        return (
            f"no registry credentials are configured: set {USER_INFO_ENV} (user:password) or "
            "basic.auth.user.info in the HIVEBUS_KAFKA_CONFIG file"
        )

    def secrets(self) -> list[str]:
        return [s.value for s in self.settings.values() if is_secret(s.key)]

    def lines(self) -> list[str]:
        """`key=value  (origin)` per setting, secrets masked: safe to print."""
        return [
            f"schema.registry.{key}={shown(key, s.value)}  ({s.origin})"
            for key, s in self.settings.items()
        ]


_last: tuple[tuple[object, ...], RegistryConnection] | None = None  # (inputs, their result)


def registry_connection() -> RegistryConnection:
    """The registry connection of this process, checked; ConfigError names a bad setting."""
    global _last
    stamp = fingerprint([*REGISTRY_VARIABLES, *KAFKA_VARIABLES])  # SASL_INHERIT reads Kafka's
    if _last is not None and _last[0] == stamp:
        return _last[1]
    merged = {"url": Setting("url", DEFAULT_REGISTRY_URL, DEFAULT_ORIGIN)}
    from_file = map(_client_key, connection_file().registry)
    for setting in (*from_file, *from_environment(REGISTRY_VARIABLES)):
        merged[setting.key] = setting
    found = RegistryConnection(_resolved(merged))
    _check(found)
    _last = (stamp, found)
    return found


def registry_url() -> str:
    """The schema registry URL every hivebus serializer uses."""
    return registry_connection().url


def configured_registry_url() -> str | None:
    """The registry URL when configured (file or variable), None for the default."""
    url = registry_connection().settings["url"]
    return url.value if url.origin != DEFAULT_ORIGIN else None


def _client_key(setting: Setting) -> Setting:
    """A file setting under the client's name: `schema.registry.url` is the client's `url`."""
    if not setting.key.startswith(FILE_PREFIX):
        return setting
    key = setting.key.removeprefix(FILE_PREFIX)
    return Setting(key, setting.value, f"{setting.origin}, {setting.key}")


def _resolved(merged: dict[str, Setting]) -> dict[str, Setting]:
    """Java clients' spellings turned into the Python client's: the credentials source, and
    a bearer token that implies a static one."""
    source = merged.pop("basic.auth.credentials.source", None)
    if source is not None:
        kind = source.value.upper()
        if kind not in _SOURCES:
            raise ConfigError(
                f"basic.auth.credentials.source ({source.origin}) must be one of "
                f"{', '.join(_SOURCES)}, got {source.value!r}"
            )
        if kind == "SASL_INHERIT":
            kafka = connection()
            user, password = (kafka.settings.get(k) for k in ("sasl.username", "sasl.password"))
            if user is None or password is None:
                raise ConfigError(
                    f"basic.auth.credentials.source=SASL_INHERIT ({source.origin}) needs "
                    "sasl.username and sasl.password for Kafka"
                )
            merged["basic.auth.user.info"] = Setting(
                "basic.auth.user.info", f"{user.value}:{password.value}",
                f"SASL_INHERIT ({source.origin}): Kafka's sasl.username and sasl.password",
            )  # fmt: skip
    token = merged.get("bearer.auth.token")
    if token is not None and "bearer.auth.credentials.source" not in merged:
        merged["bearer.auth.credentials.source"] = Setting(
            "bearer.auth.credentials.source", "STATIC_TOKEN", f"implied by {token.origin}"
        )
    static = merged.get("bearer.auth.credentials.source")
    if static is not None and static.value == "STATIC_TOKEN":
        # Confluent Cloud routes by this header; other registries ignore an empty one.
        merged.setdefault(
            "bearer.auth.logical.cluster",
            Setting("bearer.auth.logical.cluster", "", "the default: none"),
        )
    return merged


def _check(found: RegistryConnection) -> None:
    settings = found.settings
    try:
        if "basic.auth.user.info" in settings and "bearer.auth.credentials.source" in settings:
            raise ConfigError(
                f"{found.where('basic.auth.user.info')} and "
                f"{found.where('bearer.auth.credentials.source')}: choose basic or bearer "
                "credentials for the registry, not both"
            )
        info = settings.get("basic.auth.user.info")
        if info is not None and ":" not in info.value:
            raise ConfigError(
                f"basic.auth.user.info ({info.origin}) must be user:password (no ':' found)"
            )
        _check_with_client(found.config(), settings)
    except ConfigError as error:
        raise ConfigError(redact(str(error), found.secrets())) from None


def _check_with_client(config: dict[str, Any], settings: Mapping[str, Setting]) -> None:
    """The registry client itself judges; a refusal names the setting to blame."""
    error = _refusal(config)
    if error is None:
        return
    culprit = next(
        (key for key in config if key != "url" and _refusal(_without(config, key)) is None), None
    )
    if culprit is None:
        culprit = "url"
    raise ConfigError(
        f"invalid schema registry setting {culprit!r} ({settings[culprit].origin}): {error}"
    )


def _refusal(config: dict[str, Any]) -> str | None:
    try:
        SchemaRegistryClient(config).close()
    except (ValueError, TypeError, OSError, ssl.SSLError) as error:
        return str(error) or type(error).__name__
    return None


def _without(config: dict[str, Any], key: str) -> dict[str, Any]:
    rest = {k: v for k, v in config.items() if k != key}
    if key == "bearer.auth.credentials.source":  # its companions mean nothing alone
        rest = {k: v for k, v in rest.items() if not k.startswith("bearer.auth.")}
    return rest
