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
from hivebus.dev.secure import SecureBroker, override_properties

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

    @property
    def secure(self) -> SecureBroker | None:
        """The SASL_SSL side of a secure stack's broker; None for the plain one."""
        return SecureBroker(self.settings) if self.settings.secure else None

    def healthy(self) -> bool:
        # The port check first keeps librdkafka from retrying against a closed port.
        if not port_open(self.settings.host, self.settings.kafka_port):
            return False
        security = self.secure.client_settings() if self.secure else None
        return kafka_ok(self.endpoint, security=security)

    def launch(self, java: Java, libs: Path) -> None:
        """Write the broker config, format storage on first use, then start the broker."""
        self.check_ports()
        classpath = f"{libs}/*"
        formatted = (self._data_dir() / "meta.properties").exists()
        scram = self.secure.format_arguments() if self.secure and not formatted else []
        config = self._write_config()
        if not formatted:
            self._format(java, classpath, config, scram)
        if self.secure:
            self.secure.write_client_file()
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
        if self.secure:  # it holds the broker's password
            text = override_properties(text, self.secure.server_settings())
            path.touch(mode=0o600)
        path.write_text(text)
        return path

    def _format(self, java: Java, classpath: str, config: Path, extra: list[str]) -> None:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        done = subprocess.run(
            [
                str(java.path), f"-Dlog4j2.configurationFile={LOG_CONFIG}", "-cp", classpath,
                # `=` form: a base64 id may start with "-", which would read as an option.
                "kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id}",
                "-c", str(config), *extra,
            ],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise StackError(f"formatting Kafka storage failed:\n{done.stdout}{done.stderr}")
