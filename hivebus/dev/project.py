"""Where the files an agent image is built from live in a hivebus checkout.

The image holds the project's `agents/` and `schemas/` and is built by `deploy/Dockerfile`, so
building needs the checkout, not just the installed package; this finds it from any folder
inside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hivebus.errors import HivebusError


@dataclass(frozen=True)
class Project:
    root: Path

    @property
    def dockerfile(self) -> Path:
        return self.root / "deploy" / "Dockerfile"

    @property
    def install_script(self) -> Path:
        return self.root / "deploy" / "podman" / "install.sh"

    @property
    def containers_conf(self) -> Path:
        return self.root / "deploy" / "podman" / "containers.conf"


def find_project(start: Path | None = None) -> Project:
    """The checkout holding `start` (default: the current folder), found by walking up."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "deploy" / "Dockerfile").is_file():
            return Project(folder)
    raise HivebusError(
        f"no hivebus checkout at {here} or above it (looked for pyproject.toml and "
        "deploy/Dockerfile); run from the repository or pass --project DIR"
    )
