"""Resolves the pinned broker and registry from Maven Central into the hivebus cache.

The pins are the poms under `deploy/local/` (shipped in the package as `hivebus/dev/pins`).
Each resolution lands in a directory named after a hash of its pom, so changing a pin fetches
the new artifacts once and never mixes versions. Nothing is written inside the repository.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path

from hivebus.errors import HivebusError

PINS = Path(__file__).resolve().parent / "pins"
_DONE = ".complete"

Progress = Callable[[str], None]


class ArtifactError(HivebusError):
    pass


def kafka_libs(cache_dir: Path, progress: Progress) -> Path:
    """The directory of jars that make up the pinned Kafka broker."""
    pom = PINS / "kafka" / "pom.xml"
    target = _target(cache_dir, "kafka", pom)
    if not (target / _DONE).exists():
        progress("resolving the Kafka broker jars from Maven Central (first run only)...")
        _copy_dependencies(pom, target / "libs")
        (target / _DONE).touch()
    return target / "libs"


def registry_home(cache_dir: Path, progress: Progress) -> Path:
    """The unpacked Apicurio Registry distribution (the folder holding quarkus-run.jar)."""
    pom = PINS / "registry" / "pom.xml"
    target = _target(cache_dir, "registry", pom)
    home = target / "app"
    if not (target / _DONE).exists():
        progress("resolving Apicurio Registry from Maven Central (first run only, ~160 MB)...")
        download = target / "download"
        _copy_dependencies(pom, download)
        archives = sorted(download.glob("*.tar.gz"))
        if len(archives) != 1:
            raise ArtifactError(f"expected one registry archive in {download}, got {archives}")
        shutil.rmtree(home, ignore_errors=True)
        with tarfile.open(archives[0]) as archive:
            archive.extractall(home, filter="data")
        archives[0].unlink()
        (target / _DONE).touch()
    if not (home / "quarkus-run.jar").exists():
        raise ArtifactError(f"{home} holds no quarkus-run.jar; delete {target} and retry")
    return home


def _target(cache_dir: Path, name: str, pom: Path) -> Path:
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()[:12]
    return cache_dir / "stack" / f"{name}-{digest}"


def _copy_dependencies(pom: Path, output: Path) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise ArtifactError(
            "Maven (mvn) is needed once to fetch the pinned Kafka and registry artifacts; "
            "install it (Debian/Ubuntu: `apt-get install maven`) and retry"
        )
    output.mkdir(parents=True, exist_ok=True)
    command = [
        mvn, "-B", "-q", "-f", str(pom), "dependency:copy-dependencies",
        f"-DoutputDirectory={output}", "-DincludeScope=runtime",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        shutil.rmtree(output, ignore_errors=True)
        tail = (done.stdout + done.stderr).strip().splitlines()[-15:]
        raise ArtifactError(
            f"Maven could not resolve {pom} (exit {done.returncode}):\n" + "\n".join(tail)
        )
