"""Health checks that work for the local stack and for any external cluster alike."""

from __future__ import annotations

import httpx
from confluent_kafka.admin import AdminClient


def kafka_ok(bootstrap_servers: str, timeout_s: float = 3.0) -> bool:
    """True when a broker answers a metadata request and a controller is known."""
    admin = AdminClient({"bootstrap.servers": bootstrap_servers, "log_level": 0})
    try:
        metadata = admin.list_topics(timeout=timeout_s)
    except Exception:
        return False
    return bool(metadata.brokers) and metadata.controller_id >= 0


def registry_ok(registry_url: str, timeout_s: float = 2.0) -> bool:
    """True when the Confluent-compatible API lists subjects."""
    try:
        response = httpx.get(f"{registry_url.rstrip('/')}/subjects", timeout=timeout_s)
    except httpx.HTTPError:
        return False
    return response.status_code == 200
