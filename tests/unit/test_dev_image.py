"""What goes into an agent image, decided offline: the sources, the pins, the digest."""

from __future__ import annotations

import shutil
from pathlib import Path

from hivebus.dev.baseimage import _phase, rootfs_tarball
from hivebus.dev.image import IMAGE_SOURCES, source_digest
from hivebus.dev.project import Project, find_project
from hivebus.dev.wheels import copy_sources, installed_versions

PROJECT = find_project(Path(__file__).parent)


def test_the_wheel_sources_hold_the_pins_behind_the_link_and_no_bytecode(tmp_path: Path) -> None:
    copy_sources(PROJECT.root, tmp_path)
    pins = tmp_path / "hivebus" / "dev" / "pins"
    assert pins.is_dir() and not pins.is_symlink()  # a wheel cannot carry the link
    assert (pins / "kafka" / "server.properties").is_file()
    assert not list(tmp_path.rglob("__pycache__"))
    assert (tmp_path / "pyproject.toml").is_file() and (tmp_path / "README.md").is_file()


def test_dependencies_are_held_to_what_is_installed_but_hivebus_and_build_tools() -> None:
    pins = installed_versions()
    names = {pin.split("==")[0].lower() for pin in pins}
    assert "pydantic" in names and "confluent-kafka" in names
    assert not names & {"hivebus", "pip", "setuptools", "wheel"}


def test_the_digest_changes_with_an_agent_and_with_the_base(tmp_path: Path) -> None:
    for name in IMAGE_SOURCES:
        source = PROJECT.root / name
        if source.is_dir():
            ignore = shutil.ignore_patterns("__pycache__")
            shutil.copytree(source, tmp_path / name, symlinks=True, ignore=ignore)
        else:
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, tmp_path / name)
    copy = Project(tmp_path)
    before = source_digest(copy)
    assert source_digest(copy) == before
    assert source_digest(copy, base="localhost/other:1") != before
    (tmp_path / "agents" / "fraud.py").write_text("# changed\n", encoding="utf-8")
    assert source_digest(copy) != before


def test_the_base_cache_is_under_the_cache_dir_and_named_by_its_recipe(tmp_path: Path) -> None:
    tarball = rootfs_tarball(tmp_path)
    assert tarball.parent == tmp_path / "images"
    assert tarball.name.startswith("hivebus-base-bookworm-") and tarball.suffix == ".tar"


def test_build_progress_says_each_phase_once_not_each_package() -> None:
    assert _phase("I: Retrieving libc6 2.36-9") == _phase("I: Retrieving zlib1g 1:1.2")
    assert _phase("Get:1 http://deb.debian.org x") == _phase("Get:12 http://deb.debian.org y")
    assert _phase("I: Validating libc6") != _phase("I: Retrieving libc6")
