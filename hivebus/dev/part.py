"""One process of the local stack: how it is prepared, started, checked and stopped."""

from __future__ import annotations

import socket
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from hivebus.dev import process
from hivebus.dev.settings import StackSettings
from hivebus.errors import HivebusError


class StackError(HivebusError):
    pass


@dataclass(frozen=True)
class PartStatus:
    name: str
    endpoint: str
    pid: int | None
    healthy: bool
    rss_mb: float | None


class Part(ABC):
    """A JVM process owned by the stack, with a pid file and a log in the state directory."""

    name: str

    def __init__(self, settings: StackSettings) -> None:
        self.settings = settings
        self.mark = process.marker(settings.state_dir)
        self.pid_file = settings.state_dir / f"{self.name}.pid"
        self.log_file = settings.state_dir / f"{self.name}.log"

    @property
    @abstractmethod
    def endpoint(self) -> str: ...

    @property
    @abstractmethod
    def ports(self) -> dict[str, int]:
        """The ports this part listens on, by settings field name."""

    @abstractmethod
    def healthy(self) -> bool: ...

    def pid(self) -> int | None:
        return process.running_pid(self.pid_file, self.mark)

    def status(self) -> PartStatus:
        pid = self.pid()
        return PartStatus(
            name=self.name,
            endpoint=self.endpoint,
            pid=pid,
            healthy=pid is not None and self.healthy(),
            rss_mb=process.rss_mb(pid) if pid else None,
        )

    def check_ports(self) -> None:
        """Refuse ports that something else already listens on, naming the setting."""
        for field, port in self.ports.items():
            if port_open(self.settings.host, port):
                raise StackError(
                    f"port {port} ({field}) is already in use by a process this stack did not "
                    f"start; stop it or choose another port "
                    f"({self.settings.env_prefix}{field.upper()} for {self.name})"
                )

    def start(self, command: list[str], env: dict[str, str] | None = None) -> None:
        """Spawn the process and wait until it answers its health check."""
        self.check_ports()
        child = process.spawn(
            command, log_file=self.log_file, pid_file=self.pid_file, env=env,
            cwd=self.settings.state_dir,
        )  # fmt: skip
        deadline = time.monotonic() + self.settings.start_timeout_s
        while not self.healthy():
            if child.poll() is not None:
                raise StackError(f"{self.name} exited during start:\n{self.log_tail(25)}")
            if time.monotonic() > deadline:
                self.stop()
                raise StackError(
                    f"{self.name} was not healthy after {self.settings.start_timeout_s:.0f}s:\n"
                    f"{self.log_tail(25)}"
                )
            time.sleep(0.25)

    def stop(self) -> bool:
        return process.stop(self.pid_file, self.mark)

    def log_tail(self, lines: int) -> str:
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return f"(no log at {self.log_file})"
        return "\n".join(text.splitlines()[-lines:])


def port_open(host: str, port: int) -> bool:
    """True when something accepts TCP connections on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def data_path(settings: StackSettings, *parts: str) -> Path:
    path = settings.state_dir.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
