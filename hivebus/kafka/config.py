"""librdkafka configurations: hivebus's defaults, then the shared connection configuration
(servers, TLS, SASL and any client setting of `HIVEBUS_KAFKA_CONFIG`), then the caller's own
overrides (`hivebus run --producer-config`, an agent's settings), each winning over the last."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hivebus.kafka.connection import connection_settings
from hivebus.kafka.defaults import CONSUMER_DEFAULTS, PRODUCER_DEFAULTS, Config
from hivebus.kafka.judge import Kind, check_settings, describe_config_error

__all__ = [
    "CONSUMER_DEFAULTS",
    "PRODUCER_DEFAULTS",
    "Config",
    "Kind",
    "check_settings",
    "consumer_config",
    "describe_config_error",
    "producer_config",
]


def consumer_config(group_id: str, overrides: Mapping[str, Any] | None = None) -> Config:
    """Consumer settings for an agent's group (group id = agent name)."""
    return {
        **CONSUMER_DEFAULTS,
        **connection_settings("consumer"),
        "group.id": group_id,
        **(overrides or {}),
    }


def producer_config(client_id: str, overrides: Mapping[str, Any] | None = None) -> Config:
    """Producer settings: idempotent by default, so retries never duplicate or reorder."""
    return {
        **PRODUCER_DEFAULTS,
        **connection_settings("producer"),
        "client.id": client_id,
        **(overrides or {}),
    }
