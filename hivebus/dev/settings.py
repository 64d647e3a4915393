"""Settings of the local stack, read from the environment and validated with named errors."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from hivebus.contracts.endpoints import CCOMPAT_PATH, DEFAULT_REGISTRY_PORT
from hivebus.envvars import int_env
from hivebus.errors import ConfigError
from hivebus.kafka.endpoints import DEFAULT_HOST, DEFAULT_KAFKA_PORT

PLAIN_PREFIX, SECURE_PREFIX = "HIVEBUS_DEV_", "HIVEBUS_DEV_SECURE_"
SECURE_PORT_OFFSET = 10000  # the secure stack's ports: 29092, 29093, 28081, 28082


@dataclass(frozen=True)
class StackSettings:
    """Ports, directories and heap sizes of the local Kafka + registry processes.

    `secure`: the broker listens with SASL_SSL (SCRAM-SHA-512 over TLS, `secure.py`); such a
    stack has its own ports, variables (`HIVEBUS_DEV_SECURE_*`) and state directory, so it
    runs beside the plain one.
    """

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
    secure: bool = False

    @classmethod
    def from_env(cls, *, secure: bool = False) -> StackSettings:
        """Build settings from `HIVEBUS_*` variables; defaults suit one developer machine."""
        env = os.environ
        prefix = SECURE_PREFIX if secure else PLAIN_PREFIX
        offset = SECURE_PORT_OFFSET if secure else 0
        kafka, registry = DEFAULT_KAFKA_PORT + offset, DEFAULT_REGISTRY_PORT + offset
        state = env.get("HIVEBUS_SECURE_STATE_DIR" if secure else "HIVEBUS_STATE_DIR")
        settings = cls(
            state_dir=Path(state or (".hivebus-secure" if secure else ".hivebus")).resolve(),
            cache_dir=Path(
                env.get("HIVEBUS_CACHE_DIR") or Path.home() / ".cache" / "hivebus"
            ).resolve(),
            kafka_port=int_env(f"{prefix}KAFKA_PORT", kafka, 1, 65535),
            controller_port=int_env(f"{prefix}CONTROLLER_PORT", kafka + 1, 1, 65535),
            registry_port=int_env(f"{prefix}REGISTRY_PORT", registry, 1, 65535),
            registry_management_port=int_env(
                f"{prefix}REGISTRY_MANAGEMENT_PORT", registry + 1, 1, 65535
            ),
            kafka_heap_mb=int_env("HIVEBUS_DEV_KAFKA_HEAP_MB", 512, 128, 65536),
            registry_heap_mb=int_env("HIVEBUS_DEV_REGISTRY_HEAP_MB", 384, 128, 65536),
            secure=secure,
        )
        settings.validate()
        return settings

    @property
    def env_prefix(self) -> str:
        """The prefix of the variables that set this stack's ports."""
        return SECURE_PREFIX if self.secure else PLAIN_PREFIX

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
