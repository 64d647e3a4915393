"""The local Apache Kafka broker: one KRaft node (broker + controller) run from Maven jars."""

from __future__ import annotations

import base64
import subprocess
import uuid
from pathlib import Path
from string import Template

from hivebus.dev.health import kafka_ok
from hivebus.dev.java import Java
from hivebus.dev.part import Part, StackError, data_path, port_open

CONFIG_TEMPLATE = Path(__file__).resolve().parent / "pins" / "kafka" / "server.properties"
LOG_CONFIG = Path(__file__).resolve().parent / "pins" / "kafka" / "log4j2.yaml"


class KafkaNode(Part):
    name = "kafka"

    @property
    def endpoint(self) -> str:
        return self.settings.bootstrap_servers

    @property
    def ports(self) -> dict[str, int]:
        return {
            "kafka_port": self.settings.kafka_port,
            "controller_port": self.settings.controller_port,
        }

    def healthy(self) -> bool:
        # The port check first keeps librdkafka from retrying against a closed port.
        return port_open(self.settings.host, self.settings.kafka_port) and kafka_ok(self.endpoint)

    def launch(self, java: Java, libs: Path) -> None:
        """Write the broker config, format storage on first use, then start the broker."""
        self.check_ports()
        config = self._write_config()
        classpath = f"{libs}/*"
        if not (self._data_dir() / "meta.properties").exists():
            self._format(java, classpath, config)
        heap = self.settings.kafka_heap_mb
        self.start([
            str(java.path), f"-Xms{min(heap, 256)}m", f"-Xmx{heap}m",
            "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={LOG_CONFIG}", self.mark,
            "-cp", classpath, "kafka.Kafka", str(config),
        ])  # fmt: skip

    def _data_dir(self) -> Path:
        return data_path(self.settings, "kafka", "data")

    def _write_config(self) -> Path:
        text = Template(CONFIG_TEMPLATE.read_text()).substitute(
            host=self.settings.host,
            kafka_port=self.settings.kafka_port,
            controller_port=self.settings.controller_port,
            data_dir=self._data_dir(),
        )
        path = data_path(self.settings, "kafka") / "server.properties"
        path.write_text(text)
        return path

    def _format(self, java: Java, classpath: str, config: Path) -> None:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        done = subprocess.run(
            [
                str(java.path), f"-Dlog4j2.configurationFile={LOG_CONFIG}", "-cp", classpath,
                # `=` form: a base64 id may start with "-", which would read as an option.
                "kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id}",
                "-c", str(config),
            ],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise StackError(f"formatting Kafka storage failed:\n{done.stdout}{done.stderr}")
