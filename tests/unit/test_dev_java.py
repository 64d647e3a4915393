"""Java discovery picks the newest runtime that is new enough, or says how to get one."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from hivebus.dev import java


def _fake_java(folder: Path, version_line: str) -> Path:
    """A script that answers `-version` like a JVM does (on stderr)."""
    path = folder / "bin" / "java"
    path.parent.mkdir(parents=True)
    path.write_text(f"#!/bin/sh\necho '{version_line}' >&2\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


@pytest.fixture
def only_fakes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setattr(java.glob, "glob", lambda pattern: [])
    monkeypatch.setattr(java.shutil, "which", lambda name: None)
    monkeypatch.delenv("HIVEBUS_JAVA", raising=False)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    java._major.cache_clear()
    return tmp_path


@pytest.mark.parametrize(
    ("line", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15', 17),
        ('openjdk version "25.0.3" 2026-04-21 LTS', 25),
        ('java version "1.8.0_402"', 8),
        ('openjdk version "21" 2023-09-19', 21),
    ],
)
def test_version_lines_are_parsed(only_fakes: Path, line: str, major: int) -> None:
    assert java._major(str(_fake_java(only_fakes, line))) == major


def test_too_old_java_gives_an_error_that_says_how_to_fix_it(
    only_fakes: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = _fake_java(only_fakes / "jdk17", 'openjdk version "17.0.1"')
    monkeypatch.setenv("JAVA_HOME", str(old.parent.parent))
    with pytest.raises(java.JavaNotFound) as error:
        java.find_java(21)
    assert "Java 17" in str(error.value)
    assert "hivebus[jre]" in str(error.value)
    assert "HIVEBUS_JAVA" in str(error.value)


def test_the_newest_sufficient_java_wins(only_fakes: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home21 = _fake_java(only_fakes / "jdk21", 'openjdk version "21.0.2"')
    home25 = _fake_java(only_fakes / "jdk25", 'openjdk version "25.0.1"')
    monkeypatch.setenv("JAVA_HOME", str(home21.parent.parent))
    monkeypatch.setenv("HIVEBUS_JAVA", str(home25))
    found = java.find_java(21)
    assert (found.path, found.major) == (home25, 25)
