"""Fixtures shared by unit tests."""

from __future__ import annotations

import os

import pytest


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No connection variable (KAFKA_*, SCHEMA_REGISTRY_*, HIVEBUS_KAFKA_CONFIG) of the
    machine running the tests leaks into a test of the connection configuration."""
    for name in list(os.environ):
        if name.startswith(("KAFKA_", "SCHEMA_REGISTRY_", "HIVEBUS_KAFKA_CONFIG")):
            monkeypatch.delenv(name)
    return monkeypatch
