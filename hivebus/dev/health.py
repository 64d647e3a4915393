"""Health checks that work for the local stack and for any external cluster alike."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient


def kafka_ok(
    bootstrap_servers: str, timeout_s: float = 3.0, *, security: Mapping[str, str] | None = None
) -> bool:
    """True when a broker answers a metadata request and a controller is known.

    `security`: the TLS and SASL settings the cluster needs, if any.
    """
    config: dict[str, Any] = {**(security or {}), "bootstrap.servers": bootstrap_servers}
    admin = AdminClient({**config, "log_level": 0})
    try:
        metadata = admin.list_topics(timeout=timeout_s)
    except Exception:
        return False
    return bool(metadata.brokers) and metadata.controller_id >= 0


def registry_ok(
    registry_url: str, timeout_s: float = 2.0, *, client: Mapping[str, Any] | None = None
) -> bool:
    """True when the Confluent-compatible API lists subjects.

    `client`: the registry client's credentials and TLS settings, if it needs any.
    """
    config = {**(client or {}), "url": registry_url, "timeout": timeout_s, "max.retries": 0}
    try:
        registry = SchemaRegistryClient(config)
        try:
            registry.get_subjects()
        finally:
            registry.close()
    except Exception:
        return False
    return True
