"""Checks of the connection configuration, each refusal one sentence that names the setting
and where it came from (the file and line, or the variable), with no secret in it.

librdkafka judges names and values (`judge.py`); the checks before it catch what librdkafka
accepts and then gets wrong at connect time, far from the cause: settings of Java clients,
settings hivebus must own, SASL settings on a connection that never uses SASL.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from hivebus.errors import ConfigError
from hivebus.kafka.judge import Kind, refusal
from hivebus.kafka.properties import Setting
from hivebus.kafka.scope import applicable
from hivebus.kafka.secrets import is_secret, redact

JAVA_ONLY = {
    "sasl.jaas.config": "librdkafka takes sasl.mechanism, sasl.username and sasl.password",
    "ssl.truststore.location": "librdkafka takes the CA certificate as a PEM file: ssl.ca.location",
    "ssl.truststore.password": "librdkafka reads PEM files, which need no store password",
    "ssl.truststore.type": "librdkafka reads PEM files: ssl.ca.location",
    "ssl.keystore.location": "librdkafka takes ssl.certificate.location and ssl.key.location (PEM)",
    "ssl.keystore.password": "librdkafka takes ssl.key.password for an encrypted PEM key",
    "ssl.keystore.type": "librdkafka takes ssl.certificate.location and ssl.key.location (PEM)",
    "key.serializer": "hivebus encodes keys and values itself",
    "value.serializer": "hivebus encodes keys and values itself",
    "key.deserializer": "hivebus decodes keys and values itself",
    "value.deserializer": "hivebus decodes keys and values itself",
}
OWNED = {
    "group.id": "an agent's consumer group is its name",
    "group.instance.id": "one shared value would give every replica the same member id",
    "client.id": "hivebus names each client after its agent and instance",
    "transactional.id": "hivebus derives it from the agent name and instance",
    "enable.auto.commit": "hivebus commits offsets itself, only once work is done",
    "enable.auto.offset.store": "hivebus commits offsets itself, only once work is done",
}
PASSWORD_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


def check_connection(settings: Mapping[str, Setting]) -> None:
    """Raise ConfigError on the first setting that cannot work."""
    secrets = [s.value for s in settings.values() if is_secret(s.key)]
    try:
        _check_keys(settings)
        _check_security(settings)
        _check_files(settings)
        _check_with_librdkafka(settings)
    except ConfigError as error:
        raise ConfigError(redact(str(error), secrets)) from None


def _check_keys(settings: Mapping[str, Setting]) -> None:
    for key, setting in settings.items():
        if key in JAVA_ONLY:
            raise ConfigError(
                f"{key} ({setting.origin}) is a setting of Kafka's Java client: "
                f"{JAVA_ONLY[key]} (docs/connections.md)"
            )
        if key in OWNED:
            raise ConfigError(f"{key} ({setting.origin}) is set by hivebus: {OWNED[key]}")


def _check_security(settings: Mapping[str, Setting]) -> None:
    protocol_setting = settings.get("security.protocol")
    protocol = protocol_setting.value.upper() if protocol_setting else "PLAINTEXT"
    said = f"security.protocol is {protocol}" + (
        f" ({protocol_setting.origin})" if protocol_setting else " (the default)"
    )
    for key, setting in settings.items():
        if key.startswith("sasl.") and not protocol.startswith("SASL_"):
            raise ConfigError(
                f"{key} ({setting.origin}) is never used: {said}; set security.protocol to "
                "SASL_SSL (or SASL_PLAINTEXT) for SASL"
            )
        if key.startswith("ssl.") and protocol not in ("SSL", "SASL_SSL"):
            raise ConfigError(
                f"{key} ({setting.origin}) is never used: {said}; set security.protocol to "
                "SSL or SASL_SSL for TLS"
            )
    if not protocol.startswith("SASL_"):
        return
    mechanism = settings.get("sasl.mechanism") or settings.get("sasl.mechanisms")
    if mechanism is None:
        raise ConfigError(
            f"{said} but sasl.mechanism is not set: set it to PLAIN, SCRAM-SHA-256, "
            "SCRAM-SHA-512 or OAUTHBEARER (without it librdkafka would use GSSAPI, Kerberos, "
            "which this build of librdkafka lacks)"
        )
    if mechanism.value.upper() in PASSWORD_MECHANISMS:
        for needed in ("sasl.username", "sasl.password"):
            if needed not in settings:
                raise ConfigError(
                    f"sasl.mechanism {mechanism.value} ({mechanism.origin}) needs "
                    f"sasl.username and sasl.password; {needed} is not set "
                    "(docs/connections.md lists where it may come from)"
                )


def _check_files(settings: Mapping[str, Setting]) -> None:
    """A certificate or key file that is not there, named before librdkafka's opaque
    `BIO lib` error would be."""
    for key, setting in settings.items():
        if not key.endswith(".location") or setting.value == "probe":  # probe: system CAs
            continue
        path = Path(setting.value).expanduser()
        if not path.exists():
            raise ConfigError(f"{key} ({setting.origin}): {path} does not exist")
        if not os.access(path, os.R_OK):
            raise ConfigError(f"{key} ({setting.origin}): {path} is not readable")


def _check_with_librdkafka(settings: Mapping[str, Setting]) -> None:
    values = {key: setting.value for key, setting in settings.items()}
    kinds: tuple[Kind, ...] = ("producer", "consumer")
    for kind in kinds:
        refused = refusal(kind, applicable(kind, values))
        if refused is None:
            continue
        if refused.key is not None and refused.key in settings:
            origin = settings[refused.key].origin
            raise ConfigError(f"invalid Kafka setting {refused.key!r} ({origin}): {refused.reason}")
        origins = ", ".join(sorted({s.origin for s in settings.values()}))
        raise ConfigError(f"invalid Kafka settings (from {origins}): {refused.reason}")
