"""The local schema registry: Apicurio Registry, Confluent-compatible at /apis/ccompat/v7.

Storage is an H2 database file in the state directory, so schema ids survive a restart just
as the broker's log does (records in Kafka keep pointing at valid ids). It starts in about
5 s, where Apicurio's KafkaSQL storage took about 28 s on the same machine.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from hivebus.dev.health import registry_ok
from hivebus.dev.java import Java
from hivebus.dev.part import Part, StackError, data_path

GLOBAL_COMPATIBILITY = "BACKWARD"


class RegistryNode(Part):
    name = "registry"

    @property
    def endpoint(self) -> str:
        return self.settings.registry_url

    @property
    def ports(self) -> dict[str, int]:
        return {
            "registry_port": self.settings.registry_port,
            "registry_management_port": self.settings.registry_management_port,
        }

    def healthy(self) -> bool:
        return registry_ok(self.endpoint)

    def launch(self, java: Java, home: Path) -> None:
        """Start the registry, then set the global compatibility level it lacks by default."""
        database = data_path(self.settings, "registry") / "registry"
        env = {
            "APICURIO_STORAGE_KIND": "sql",
            "APICURIO_DATASOURCE_URL": f"jdbc:h2:file:{database}",
            "APICURIO_DATASOURCE_USERNAME": "sa",
            "APICURIO_DATASOURCE_PASSWORD": "sa",
            "QUARKUS_HTTP_HOST": self.settings.host,
            "QUARKUS_HTTP_PORT": str(self.settings.registry_port),
            "QUARKUS_MANAGEMENT_HOST": self.settings.host,
            "QUARKUS_MANAGEMENT_PORT": str(self.settings.registry_management_port),
            "QUARKUS_HTTP_ACCESS_LOG_ENABLED": "false",
        }
        self.start(
            [
                str(java.path), f"-Xmx{self.settings.registry_heap_mb}m",
                # C1 only: starts faster, and the registry's load is a few cached lookups.
                "-XX:TieredStopAtLevel=1", self.mark, "-jar", str(home / "quarkus-run.jar"),
            ],
            env=env,
        )  # fmt: skip
        self.set_global_compatibility(GLOBAL_COMPATIBILITY)

    def set_global_compatibility(self, level: str) -> None:
        response = httpx.put(f"{self.endpoint}/config", json={"compatibility": level}, timeout=10)
        if response.status_code != 200:
            raise StackError(
                f"setting registry compatibility to {level} failed: "
                f"HTTP {response.status_code} {response.text[:300]}"
            )
