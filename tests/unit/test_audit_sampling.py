"""Sampling by correlation id: a causal tree is kept or dropped whole, in any process."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hivebus.audit.sampling import kept
from hivebus.audit.settings import AuditSettings, check_sample
from hivebus.errors import ConfigError

IDS = [f"{i:04x}-correlation".encode() for i in range(4000)]


def test_zero_keeps_nothing_and_one_keeps_everything() -> None:
    assert not any(kept(c, 0.0) for c in IDS)
    assert all(kept(c, 1.0) for c in IDS)


def test_a_rate_keeps_about_that_fraction() -> None:
    share = sum(kept(c, 0.1) for c in IDS) / len(IDS)
    assert 0.08 < share < 0.12


def test_the_choice_depends_only_on_the_correlation_id_even_in_another_process() -> None:
    here = [kept(c, 0.3) for c in IDS[:200]]
    code = (
        "from hivebus.audit.sampling import kept\n"
        "ids = [f'{i:04x}-correlation'.encode() for i in range(200)]\n"
        "print(''.join('1' if kept(c, 0.3) else '0' for c in ids))"
    )
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert there.stdout.strip() == "".join("1" if k else "0" for k in here)
    # A lower rate keeps a subset: what 10% keeps, 30% keeps too.
    assert all(kept(c, 0.3) for c in IDS if kept(c, 0.1))


def test_a_sample_outside_zero_to_one_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="between 0 and 1"):
        check_sample(1.5)
    monkeypatch.setenv("HIVEBUS_AUDIT_SAMPLE", "-0.1")
    with pytest.raises(ConfigError, match="HIVEBUS_AUDIT_SAMPLE"):
        AuditSettings.from_env()
    monkeypatch.setenv("HIVEBUS_AUDIT_SAMPLE", "0.25")
    assert AuditSettings.from_env().sample == 0.25


def test_retention_is_a_setting_of_both_topics(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HIVEBUS_AUDIT_TOPIC", "team.audit")
    monkeypatch.setenv("HIVEBUS_AUDIT_RETENTION_S", str(7 * 24 * 3600))
    specs = AuditSettings.from_env().topic_specs()
    assert [s.name for s in specs] == ["team.audit", "team.audit.blobs"]
    assert {s.config["retention.ms"] for s in specs} == {str(7 * 24 * 3600 * 1000)}
    assert {s.config["cleanup.policy"] for s in specs} == {"delete"}
    monkeypatch.setenv("HIVEBUS_AUDIT_RETENTION_S", "-1")
    assert AuditSettings.from_env().topic_specs()[0].config["retention.ms"] == "-1"
