"""The local stack: Kafka, then the registry, started from pinned artifacts and health-checked.

`up` is idempotent (a running, healthy part is left alone), `down` stops only the processes
whose pid files this state directory holds, and a file lock keeps two `up`s from racing.
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from hivebus.contracts.registry_config import configured_registry_url
from hivebus.dev import artifacts
from hivebus.dev.java import find_java
from hivebus.dev.kafka_node import KafkaNode
from hivebus.dev.part import PartStatus
from hivebus.dev.registry_node import RegistryNode
from hivebus.dev.settings import StackSettings
from hivebus.kafka.connection import configured_bootstrap

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Endpoints:
    """Where clients connect; `external` when they came from the environment."""

    bootstrap_servers: str
    registry_url: str
    external: bool = False


@dataclass(frozen=True)
class UpReport:
    endpoints: Endpoints
    started: tuple[str, ...]
    seconds: dict[str, float]


def external_endpoints() -> Endpoints | None:
    """The cluster the connection configuration names, if it names both a broker and a
    registry (`KAFKA_BOOTSTRAP_SERVERS` and `SCHEMA_REGISTRY_URL`, or the `HIVEBUS_KAFKA_CONFIG`
    file's `bootstrap.servers` and `schema.registry.url`)."""
    bootstrap, registry = configured_bootstrap(), configured_registry_url()
    if bootstrap and registry:
        return Endpoints(bootstrap, registry, external=True)
    return None


class LocalStack:
    def __init__(self, settings: StackSettings | None = None) -> None:
        self.settings = settings or StackSettings.from_env()
        self.kafka = KafkaNode(self.settings)
        self.registry = RegistryNode(self.settings)

    @property
    def endpoints(self) -> Endpoints:
        return Endpoints(self.settings.bootstrap_servers, self.settings.registry_url)

    def up(self, progress: Progress = print, only: Iterable[str] | None = None) -> UpReport:
        """Start whatever is not running (of the parts named in `only`, by default both);
        returns what was started and how long each took."""
        names = set(only) if only is not None else {"kafka", "registry"}
        with self._lock():
            started: list[str] = []
            seconds: dict[str, float] = {}
            wanted = [part for part in (self.kafka, self.registry) if part.name in names]
            if all(part.pid() for part in wanted):
                return UpReport(self.endpoints, (), {})
            clock = time.monotonic()
            java = find_java()
            cache = self.settings.cache_dir
            libs = artifacts.kafka_libs(cache, progress) if "kafka" in names else None
            home = artifacts.registry_home(cache, progress) if "registry" in names else None
            seconds["artifacts"] = time.monotonic() - clock
            if libs is not None and not self.kafka.pid():
                mode = " with SASL_SSL" if self.settings.secure else ""
                progress(f"starting Kafka{mode} on {self.kafka.endpoint} (Java {java.major})...")
                clock = time.monotonic()
                self.kafka.launch(java, libs)
                seconds["kafka"] = time.monotonic() - clock
                started.append("kafka")
            if home is not None and not self.registry.pid():
                progress(f"starting the schema registry on {self.registry.endpoint}...")
                clock = time.monotonic()
                self.registry.launch(java, home)
                seconds["registry"] = time.monotonic() - clock
                started.append("registry")
            return UpReport(self.endpoints, tuple(started), seconds)

    def down(self, progress: Progress = print, only: Iterable[str] | None = None) -> list[str]:
        """Stop the registry, then Kafka (or just the parts named in `only`).

        Only processes whose pid files this state directory holds are ever signalled.
        """
        names = set(only) if only is not None else {"kafka", "registry"}
        with self._lock():
            stopped = []
            for part in (self.registry, self.kafka):
                if part.name not in names:
                    continue
                progress(f"stopping {part.name}...")
                if part.stop():
                    stopped.append(part.name)
            return stopped

    def status(self) -> list[PartStatus]:
        return [self.kafka.status(), self.registry.status()]

    @contextmanager
    def _lock(self) -> Iterator[None]:
        self.settings.state_dir.mkdir(parents=True, exist_ok=True)
        with (self.settings.state_dir / ".lock").open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
