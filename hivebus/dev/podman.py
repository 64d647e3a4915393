"""The container engine: podman, installed by `deploy/podman/install.sh` when missing.

Every call carries `CONTAINERS_CONF` pointing at the project's `deploy/podman/containers.conf`
(runc, explicit rlimits), so no system-wide container configuration is needed. A
`CONTAINERS_CONF` already in the environment wins: it is the operator's choice.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from hivebus.dev.project import Project
from hivebus.errors import HivebusError

Say = Callable[[str], None]
CONF_ENV = "CONTAINERS_CONF"
ENGINE_TOOLS = ("podman", "runc")


class PodmanError(HivebusError):
    pass


@dataclass(frozen=True)
class Podman:
    executable: str
    conf: Path

    def env(self) -> dict[str, str]:
        """The environment podman runs in; also for callers that start it themselves."""
        return {**os.environ, CONF_ENV: os.environ.get(CONF_ENV) or str(self.conf)}

    def command(self, *args: str) -> list[str]:
        return [self.executable, *args]

    def run(self, *args: str, timeout_s: float = 120.0) -> str:
        """Run one podman command to the end; its stdout, or an error quoting its stderr."""
        done = subprocess.run(
            self.command(*args), env=self.env(), capture_output=True, text=True,
            timeout=timeout_s, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise PodmanError(_failure(args, done.returncode, done.stderr or done.stdout))
        return done.stdout

    def stream(self, args: Sequence[str], say: Say, *, stdin: Path | None = None) -> None:
        """Run a long podman command, saying each line of its output as it comes."""
        tail: list[str] = []
        with stdin.open("rb") if stdin else open(os.devnull, "rb") as source:
            child = subprocess.Popen(
                self.command(*args), env=self.env(), stdin=source, text=True,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            )  # fmt: skip
            assert child.stdout is not None
            for line in child.stdout:
                say("  " + line.rstrip())
                tail = [*tail[-14:], line.rstrip()]
            code = child.wait()
        if code != 0:
            raise PodmanError(_failure(args, code, "\n".join(tail)))

    def logs(self, container: str) -> str:
        """A container's output, its stdout and stderr interleaved as written."""
        done = subprocess.run(
            self.command("logs", container), env=self.env(), text=True, check=False,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        return done.stdout

    def image_exists(self, ref: str) -> bool:
        done = subprocess.run(
            self.command("image", "exists", ref), env=self.env(), capture_output=True, check=False
        )
        return done.returncode == 0

    def image_size(self, ref: str) -> int:
        """The image's size in bytes, as `podman images` counts it (all layers, uncompressed)."""
        return int(self.run("image", "inspect", "--format", "{{.Size}}", ref).strip())


def ensure_podman(project: Project, say: Say, *, tools: Sequence[str] = ENGINE_TOOLS) -> Podman:
    """podman, with `tools` on the PATH; runs the project's install script for what is missing."""
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        install_engine(project, say, missing)
    executable = shutil.which("podman")
    if executable is None:  # the script reported success but podman is still not there
        raise PodmanError("podman is still not on the PATH after the install script ran")
    return Podman(executable, project.containers_conf)


def install_engine(project: Project, say: Say, missing: Sequence[str]) -> None:
    script = project.install_script
    if not script.is_file():
        raise PodmanError(f"{', '.join(missing)} missing and {script} is not there to install it")
    say(f"{', '.join(missing)} not found: running {script.relative_to(project.root)}")
    done = subprocess.run(["bash", str(script)], capture_output=True, text=True, check=False)
    for line in done.stdout.splitlines():
        say("  " + line)
    if done.returncode != 0:
        raise PodmanError(
            f"{', '.join(missing)} missing and could not be installed: "
            f"{(done.stderr or done.stdout).strip() or f'{script} exited {done.returncode}'}"
        )


def _failure(args: Sequence[str], code: int, output: str) -> str:
    lines = output.strip().splitlines()[-15:]
    return f"`podman {' '.join(args)}` failed (exit {code}):\n" + "\n".join(lines)
