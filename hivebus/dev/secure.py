"""The secure local broker (`hivebus dev up --secure`): SASL_SSL, SCRAM-SHA-512 over TLS,
on its own ports and state directory, to try and test hivebus against a cluster that needs
credentials, as managed clusters do.

All of it is made on first start and kept: a CA and broker certificate (`tls.py`); a
password for the broker's own inter-broker login and one for the client user, both added as
SCRAM credentials when the storage is formatted (in KRaft they are part of the metadata, so
they must exist before the first start); and `client.properties`, the file clients are
pointed at with `HIVEBUS_KAFKA_CONFIG`. The controller listener stays plaintext on the
stack's loopback host: it is the node's own, and never advertised to clients.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from hivebus.dev.part import StackError, data_path
from hivebus.dev.settings import StackSettings
from hivebus.dev.tls import TlsFiles, ensure_tls
from hivebus.kafka.properties import read_properties

CLIENT_USER = "hivebus"
BROKER_USER = "broker"
MECHANISM = "SCRAM-SHA-512"
LISTENER = "SASL_SSL"
SCRAM_LOGIN = "org.apache.kafka.common.security.scram.ScramLoginModule"


@dataclass(frozen=True)
class SecureBroker:
    settings: StackSettings

    @property
    def directory(self) -> Path:
        return data_path(self.settings, "secure")

    @property
    def client_file(self) -> Path:
        """The `client.properties` for `HIVEBUS_KAFKA_CONFIG` (holds the password: mode 600)."""
        return self.settings.state_dir / "client.properties"

    def tls(self) -> TlsFiles:
        return ensure_tls(self.directory / "tls", self.settings.host)

    def passwords(self, *, create: bool) -> dict[str, str]:
        """The SCRAM password of each user, by name; made once when `create` is true."""
        path = self.directory / "credentials.properties"
        if path.exists():
            return {s.key: s.value for s in read_properties(path)}
        if not create:
            raise StackError(
                f"the secure broker's storage exists but {path} does not: its SCRAM passwords "
                f"are lost; delete {self.settings.state_dir} to start over"
            )
        made = {user: secrets.token_urlsafe(24) for user in (BROKER_USER, CLIENT_USER)}
        _write_private(path, "".join(f"{user}={pw}\n" for user, pw in made.items()))
        return made

    def server_settings(self) -> dict[str, str]:
        """What the broker's `server.properties` changes for SASL_SSL."""
        host, tls = self.settings.host, self.tls()
        password = self.passwords(create=False)[BROKER_USER]
        return {
            "listeners": f"{LISTENER}://{host}:{self.settings.kafka_port},"
            f"CONTROLLER://{host}:{self.settings.controller_port}",
            "advertised.listeners": f"{LISTENER}://{host}:{self.settings.kafka_port}",
            "listener.security.protocol.map": f"{LISTENER}:{LISTENER},CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name": LISTENER,
            "sasl.enabled.mechanisms": MECHANISM,
            "sasl.mechanism.inter.broker.protocol": MECHANISM,
            f"listener.name.{LISTENER.lower()}.{MECHANISM.lower()}.sasl.jaas.config": (
                f'{SCRAM_LOGIN} required username="{BROKER_USER}" password="{password}";'
            ),
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(tls.server),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(tls.ca),
            "ssl.client.auth": "none",
        }

    def format_arguments(self) -> list[str]:
        """`kafka-storage format` arguments that add the SCRAM users."""
        return [
            f"--add-scram={MECHANISM}=[name={user},password={password}]"
            for user, password in self.passwords(create=True).items()
        ]

    def client_settings(self) -> dict[str, str]:
        """The librdkafka security settings of the client user (for health checks)."""
        return {
            "security.protocol": LISTENER,
            "sasl.mechanism": MECHANISM,
            "sasl.username": CLIENT_USER,
            "sasl.password": self.passwords(create=False)[CLIENT_USER],
            "ssl.ca.location": str(self.tls().ca),
        }

    def write_client_file(self) -> Path:
        """Write `client.properties`: the broker, the registry and the client's credentials."""
        settings = {
            "bootstrap.servers": self.settings.bootstrap_servers,
            **self.client_settings(),
            "schema.registry.url": self.settings.registry_url,
        }
        header = (
            "# The secure local stack, written by `hivebus dev up --secure`. Point clients at\n"
            f"# it with: export HIVEBUS_KAFKA_CONFIG={self.client_file}\n"
        )
        _write_private(self.client_file, header + render_properties(settings))
        return self.client_file


def render_properties(settings: dict[str, str]) -> str:
    """`key=value` lines (values here never need escaping: paths, names, url-safe tokens)."""
    return "".join(f"{key}={value}\n" for key, value in settings.items())


def override_properties(text: str, settings: dict[str, str]) -> str:
    """A properties text with each key of `settings` set: its line replaced, or appended."""
    lines, left = [], dict(settings)
    for line in text.splitlines():
        key = line.split("=", 1)[0].strip()
        if not line.lstrip().startswith("#") and key in left:
            line = f"{key}={left.pop(key)}"
        lines.append(line)
    lines += ["", "# SASL_SSL: the secure local stack", *(f"{k}={v}" for k, v in left.items())]
    return "\n".join(lines) + "\n"


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read: it holds a password."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    os.chmod(path, 0o600)
