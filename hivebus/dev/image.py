"""Building the agent image end to end: engine, base image, wheels, `podman build`.

Each step is skipped when its result is already there (podman installed, the base image
imported), so a rebuild costs the wheels and the image layers only.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hivebus.dev.baseimage import BASE_IMAGE, BaseReport, ensure_base_image
from hivebus.dev.podman import ENGINE_TOOLS, Podman, PodmanError, ensure_podman
from hivebus.dev.project import Project
from hivebus.dev.settings import StackSettings
from hivebus.dev.wheels import build_wheels, installed_versions

Say = Callable[[str], None]
AGENT_IMAGE = "localhost/hivebus-agent:dev"
METRICS_PORT = 9464  # the Dockerfile's HIVEBUS_METRICS_PORT
# What an agent image is made of, besides its base and the dependencies' versions.
IMAGE_SOURCES = ("pyproject.toml", ".dockerignore", "deploy/Dockerfile", "deploy/local",
                 "hivebus", "agents", "schemas", "topology")  # fmt: skip


@dataclass(frozen=True)
class ImageReport:
    tag: str
    size_bytes: int
    build_s: float  # wheels and `podman build`, the base image not included
    base: BaseReport | None  # None for a base image the caller brought


def build_image(
    project: Project,
    say: Say = print,
    *,
    tag: str = AGENT_IMAGE,
    base: str = BASE_IMAGE,
    cache_dir: Path | None = None,
    rebuild_base: bool = False,
) -> ImageReport:
    """Build `tag` from `deploy/Dockerfile` over `base` (made locally when it is ours)."""
    podman, base_report = prepare(project, say, base, cache_dir, rebuild_base=rebuild_base)
    clock = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="hivebus-wheels-") as wheels:
        build_wheels(project.root, Path(wheels), say)
        say(f"building {tag} from {project.dockerfile.relative_to(project.root)} over {base}...")
        contexts = {"wheels": Path(wheels)}
        podman_build(podman, project.dockerfile, project.root, tag, base, contexts, say)
    return ImageReport(tag, podman.image_size(tag), time.monotonic() - clock, base_report)


def prepare(
    project: Project, say: Say, base: str, cache_dir: Path | None, *, rebuild_base: bool = False
) -> tuple[Podman, BaseReport | None]:
    """The engine, and `base` in it: made here when it is ours, else it must be there."""
    ours = base == BASE_IMAGE
    podman = ensure_podman(project, say, tools=(*ENGINE_TOOLS, "debootstrap") if ours else ())
    if not ours:
        if not podman.image_exists(base):
            raise PodmanError(f"base image {base} is not in the engine: build or pull it first")
        return podman, None
    cache = cache_dir or StackSettings.from_env().cache_dir
    return podman, ensure_base_image(podman, cache, say, rebuild=rebuild_base)


def podman_build(
    podman: Podman, dockerfile: Path, context: Path, tag: str, base: str,
    contexts: dict[str, Path], say: Say, *, target: str | None = None, layers: bool = False,
) -> None:  # fmt: skip
    """`podman build` with the flags every hivebus image needs; `contexts` are named contexts.

    `layers=False` keeps no intermediate images: the agent image's wheels differ on every
    build, so a layer cache would only fill the disk.
    """
    args = [
        "build",
        "--format", "docker",  # keeps HEALTHCHECK, which the OCI format drops
        "--network", "none",  # everything comes from the contexts, nothing from a network
        f"--layers={str(layers).lower()}",
        "--file", str(dockerfile),
        "--build-arg", f"BASE={base}",
        *[f"--build-context={name}={path}" for name, path in contexts.items()],
        *(["--target", target] if target else []),
        "--tag", tag,
        str(context),
    ]  # fmt: skip
    podman.stream(args, say)


def source_digest(project: Project, base: str = BASE_IMAGE) -> str:
    """A digest of everything an image is built from: equal digests, interchangeable images."""
    digest = hashlib.sha256(base.encode())
    digest.update("\n".join(installed_versions()).encode())
    for name in IMAGE_SOURCES:
        path = project.root / name
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for file in files:
            if file.is_file() and "__pycache__" not in file.parts:
                digest.update(str(file.relative_to(project.root)).encode() + b"\0")
                digest.update(file.read_bytes())
    return digest.hexdigest()[:12]
