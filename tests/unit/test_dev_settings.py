"""Stack settings come from the environment; bad values are rejected naming the variable."""

from __future__ import annotations

import pytest

from hivebus.dev.settings import StackSettings
from hivebus.errors import ConfigError


def test_defaults_point_at_the_dev_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HIVEBUS_DEV_KAFKA_PORT", "HIVEBUS_DEV_REGISTRY_PORT", "HIVEBUS_STATE_DIR"):
        monkeypatch.delenv(name, raising=False)
    settings = StackSettings.from_env()
    assert settings.bootstrap_servers == "127.0.0.1:19092"
    assert settings.registry_url == "http://127.0.0.1:18081/apis/ccompat/v7"
    assert settings.state_dir.name == ".hivebus"


def test_ports_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HIVEBUS_DEV_KAFKA_PORT", "29092")
    monkeypatch.setenv("HIVEBUS_DEV_REGISTRY_PORT", "28081")
    settings = StackSettings.from_env()
    assert settings.bootstrap_servers == "127.0.0.1:29092"
    assert settings.registry_url.startswith("http://127.0.0.1:28081/")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("kafka", "must be a whole number"),
        ("70000", "must be between 1 and 65535"),
        ("0", "must be between"),
    ],
)
def test_a_bad_port_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    monkeypatch.setenv("HIVEBUS_DEV_KAFKA_PORT", value)
    with pytest.raises(ConfigError, match=f"HIVEBUS_DEV_KAFKA_PORT {message}"):
        StackSettings.from_env()


def test_two_parts_on_one_port_are_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HIVEBUS_DEV_KAFKA_PORT", "18081")
    monkeypatch.delenv("HIVEBUS_DEV_REGISTRY_PORT", raising=False)
    with pytest.raises(
        ConfigError, match=r"registry_port \(18081\) is the same port as kafka_port"
    ):
        StackSettings.from_env()
