"""Helpers of the connection-configuration tests."""

from __future__ import annotations

from pathlib import Path

import pytest


def client_file(path: Path, text: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Write `text` as the connection file and point HIVEBUS_KAFKA_CONFIG at it."""
    path.write_text(text)
    monkeypatch.setenv("HIVEBUS_KAFKA_CONFIG", str(path))
    return path
