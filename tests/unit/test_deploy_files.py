"""The container files checked offline: the compose file against the Compose specification,
and the names and ports they share with the code kept in step."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from hivebus.dev.baseimage import BASE_IMAGE
from hivebus.dev.image import AGENT_IMAGE, METRICS_PORT
from hivebus.dev.project import find_project
from hivebus.dev.stack_images import stack_tags
from hivebus.errors import HivebusError

PROJECT = find_project(Path(__file__).parent)
COMPOSE = PROJECT.root / "deploy" / "compose.yaml"


def check_compose(path: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec"]
    return subprocess.run([*command, str(path)], capture_output=True, text=True, check=False)


def test_the_compose_file_fits_the_compose_specification() -> None:
    checked = check_compose(COMPOSE)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_check_refuses_a_compose_file_that_breaks_the_specification(tmp_path: Path) -> None:
    broken = tmp_path / "compose.yaml"
    broken.write_text("services:\n  fraud:\n    image: x\n    restart: sometimes\n    imag: y\n")
    assert check_compose(broken).returncode != 0


def test_the_compose_file_runs_the_images_hivebus_builds() -> None:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    tags = stack_tags(PROJECT)  # versioned as the pins in deploy/local
    assert services["kafka"]["image"] == tags["kafka"]
    assert services["registry"]["image"] == tags["registry"]
    for agent in ("fraud", "compliance"):
        assert services[agent]["image"] == f"${{HIVEBUS_AGENT_IMAGE:-{AGENT_IMAGE}}}"
    # The default bridge's addresses must carry no traffic on these machines.
    assert {service["network_mode"] for service in services.values()} == {"host"}


def test_the_dockerfile_agrees_with_the_code_on_base_port_and_user() -> None:
    text = PROJECT.dockerfile.read_text()
    assert f"ARG BASE={BASE_IMAGE}\n" in text
    assert f"HIVEBUS_METRICS_PORT={METRICS_PORT}" in text
    assert f"EXPOSE {METRICS_PORT}\n" in text
    [user] = re.findall(r"^USER (\S+)$", text, flags=re.MULTILINE)
    assert user.split(":")[0] not in ("0", "root")


def test_the_engine_settings_choose_runc_and_set_rlimits() -> None:
    conf = tomllib.loads(PROJECT.containers_conf.read_text())
    assert conf["engine"]["runtime"] == "runc"
    assert conf["containers"]["default_ulimits"] == ["nofile=1024:1024", "nproc=4096:4096"]


def test_building_outside_a_checkout_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(HivebusError, match=r"no hivebus checkout at .* pass --project DIR"):
        find_project(tmp_path)
