"""Settings of the local stack, read from the environment and validated with named errors."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from hivebus.contracts.endpoints import CCOMPAT_PATH, DEFAULT_REGISTRY_PORT
from hivebus.envvars import int_env
from hivebus.errors import ConfigError
from hivebus.kafka.endpoints import DEFAULT_HOST, DEFAULT_KAFKA_PORT


@dataclass(frozen=True)
class StackSettings:
    """Ports, directories and heap sizes of the local Kafka + registry processes."""

    state_dir: Path
    cache_dir: Path
    host: str = DEFAULT_HOST
    kafka_port: int = DEFAULT_KAFKA_PORT
    controller_port: int = DEFAULT_KAFKA_PORT + 1
    registry_port: int = DEFAULT_REGISTRY_PORT
    registry_management_port: int = DEFAULT_REGISTRY_PORT + 1
    kafka_heap_mb: int = 512
    registry_heap_mb: int = 384
    start_timeout_s: float = 180.0

    @classmethod
    def from_env(cls) -> StackSettings:
        """Build settings from `HIVEBUS_*` variables; defaults suit one developer machine."""
        env = os.environ
        settings = cls(
            state_dir=Path(env.get("HIVEBUS_STATE_DIR") or ".hivebus").resolve(),
            cache_dir=Path(
                env.get("HIVEBUS_CACHE_DIR") or Path.home() / ".cache" / "hivebus"
            ).resolve(),
            kafka_port=int_env("HIVEBUS_DEV_KAFKA_PORT", DEFAULT_KAFKA_PORT, 1, 65535),
            controller_port=int_env(
                "HIVEBUS_DEV_CONTROLLER_PORT", DEFAULT_KAFKA_PORT + 1, 1, 65535
            ),
            registry_port=int_env("HIVEBUS_DEV_REGISTRY_PORT", DEFAULT_REGISTRY_PORT, 1, 65535),
            registry_management_port=int_env(
                "HIVEBUS_DEV_REGISTRY_MANAGEMENT_PORT", DEFAULT_REGISTRY_PORT + 1, 1, 65535
            ),
            kafka_heap_mb=int_env("HIVEBUS_DEV_KAFKA_HEAP_MB", 512, 128, 65536),
            registry_heap_mb=int_env("HIVEBUS_DEV_REGISTRY_HEAP_MB", 384, 128, 65536),
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        """Reject settings that cannot work, naming the field."""
        ports = {
            "kafka_port": self.kafka_port,
            "controller_port": self.controller_port,
            "registry_port": self.registry_port,
            "registry_management_port": self.registry_management_port,
        }
        seen: dict[int, str] = {}
        for name, port in ports.items():
            if port in seen:
                raise ConfigError(f"{name} ({port}) is the same port as {seen[port]}")
            seen[port] = name

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.kafka_port}"

    @property
    def registry_base_url(self) -> str:
        return f"http://{self.host}:{self.registry_port}"

    @property
    def registry_url(self) -> str:
        """The Confluent-compatible API root that `SchemaRegistryClient` takes."""
        return self.registry_base_url + CCOMPAT_PATH
