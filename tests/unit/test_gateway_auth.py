"""The gateway's API keys: the format, what the file keeps (hashes only), revocation seen by
a running gateway, per-agent permissions, and the `hivebus gateway keys` commands."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from hivebus.cli import main
from hivebus.errors import ConfigError
from hivebus.gateway.auth import ANONYMOUS, KeyStore, PermissionDenied, Principal, require
from hivebus.gateway.auth.keys import (
    KeyRecord,
    check_agents,
    digest,
    key_id,
    load,
    load_or_empty,
    new_key,
    revoke,
    save,
)
from hivebus.gateway.auth.permissions import Unauthenticated, allowed
from hivebus.gateway.auth.store import Refusal


def make(path: Path, name: str, agents: list[str]) -> str:
    records = load_or_empty(path)
    key, record = new_key(name, agents, records)
    save(path, [*records, record])
    return key


def test_a_key_names_its_record_and_the_file_keeps_only_its_hash(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    key = make(path, "ci", ["fraud-*", " research "])
    [record] = load(path)

    prefix, id_, secret = key.split("_", 2)
    assert prefix == "hb" and id_ == record.id and key_id(key) == record.id
    assert len(secret) >= 43  # 32 random bytes
    assert key not in path.read_text() and secret not in path.read_text()
    assert record.hash == digest(key) and record.matches(key)
    assert not record.matches(key[:-1] + ("A" if key[-1] != "A" else "B"))
    assert record.agents == ("fraud-*", "research") and record.active
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["hivebus_gateway_keys"] == 1


def test_two_keys_never_share_a_secret_or_an_id(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    keys = [make(path, f"k{i}", ["*"]) for i in range(20)]
    assert len(set(keys)) == 20 and len({key_id(k) for k in keys}) == 20


@pytest.mark.parametrize(
    "text", ["", "hb_", "hb_abc_x", "xx_0123456789ab_secret", "hb_0123456789ab_", "Bearer x"]
)
def test_what_is_not_shaped_like_a_key_has_no_id(text: str) -> None:
    assert key_id(text) is None


def test_names_are_unique_among_active_keys_and_revoke_finds_by_name_or_id(
    tmp_path: Path,
) -> None:
    path = tmp_path / "keys.json"
    make(path, "ui", ["*"])
    with pytest.raises(ConfigError, match="named 'ui' already"):
        make(path, "ui", ["*"])
    records, done = revoke(load(path), "ui")
    save(path, records)
    assert not load(path)[0].active and done.revoked_at is not None
    again = make(path, "ui", ["*"])  # a revoked name may be taken again
    records, done = revoke(load(path), key_id(again) or "")
    assert done.name == "ui" and all(not r.active for r in records)
    with pytest.raises(ConfigError, match="no active key named 'nobody'"):
        revoke(records, "nobody")


@pytest.mark.parametrize(
    ("name", "agents", "problem"),
    [
        ("", ["*"], "a key's name"),
        ("has space", ["*"], "a key's name"),
        ("ok", [], "name the agents"),
        ("ok", [" ", ""], "name the agents"),
        ("ok", ["fraud detector"], "not an agent name"),
        ("ok", ["a/b"], "not an agent name"),
    ],
)
def test_a_key_needs_a_plain_name_and_agent_patterns(
    name: str, agents: list[str], problem: str
) -> None:
    with pytest.raises(ConfigError, match=problem):
        new_key(name, agents, [])


def test_a_file_that_is_not_a_key_file_is_refused_naming_it(tmp_path: Path) -> None:
    missing, other, broken, bad = (tmp_path / n for n in ("none", "other", "broken", "bad"))
    other.write_text('{"keys": []}')
    broken.write_text("{nope")
    bad.write_text('{"hivebus_gateway_keys": 1, "keys": [{"id": "x", "name": "n"}]}')
    for path, problem in [
        (missing, "no key file"),
        (other, "not a hivebus key file"),
        (broken, "cannot read"),
        (bad, "key #1"),
    ]:
        with pytest.raises(ConfigError, match=problem) as caught:
            load(path)
        assert str(path) in str(caught.value)


def test_agent_patterns_match_names_case_sensitively() -> None:
    principal = Principal("ci", check_agents(["fraud-*", "research", "risk-?"]), "0" * 12)
    assert principal.may_use("fraud-detector") and principal.may_use("research")
    assert principal.may_use("risk-1")
    assert not principal.may_use("research-2") and not principal.may_use("Fraud-detector")
    assert not principal.may_use("risk-10") and not principal.may_use("compliance")
    assert ANONYMOUS.may_use("anything")


def test_require_says_which_agent_and_fails_closed_without_a_principal() -> None:
    scope = {"type": "http", "state": {"principal": Principal("ci", ("fraud-*",), "0" * 12)}}
    require(scope, "fraud-detector")
    assert allowed(scope, "fraud-detector") and not allowed(scope, "research")
    with pytest.raises(PermissionDenied) as caught:
        require(scope, "research")
    assert caught.value.status == 403 and caught.value.agent == "research"
    assert "'research'" in caught.value.message and "'ci'" in caught.value.message
    with pytest.raises(Unauthenticated):
        require({"type": "http"}, "fraud-detector")
    assert not allowed({"type": "http", "state": {}}, "fraud-detector")


def test_the_store_verifies_keys_and_sees_a_revocation_without_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    key = make(path, "ci", ["fraud-*"])
    store = KeyStore(path, recheck_s=0.0)

    principal = store.verify(key)
    assert principal == Principal("ci", ("fraud-*",), key_id(key))
    wrong = f"hb_{key_id(key)}_{'x' * 43}"
    assert isinstance(store.verify(wrong), Refusal)
    assert isinstance(store.verify("hb_0123456789ab_whatever"), Refusal)
    assert isinstance(store.verify("not a key"), Refusal)

    records, _ = revoke(load(path), "ci")
    save(path, records)
    refused = store.verify(key)
    assert isinstance(refused, Refusal) and "revoked" in refused.message

    later = make(path, "later", ["*"])
    assert isinstance(store.verify(later), Principal)  # a key made after the start


def test_a_key_file_turned_bad_keeps_the_last_keys_and_a_deleted_one_refuses_all(
    tmp_path: Path,
) -> None:
    path = tmp_path / "keys.json"
    key = make(path, "ci", ["*"])
    store = KeyStore(path, recheck_s=0.0)
    path.write_text("{broken, and longer than before")
    assert isinstance(store.verify(key), Principal)
    path.unlink()
    assert isinstance(store.verify(key), Refusal)
    with pytest.raises(ConfigError, match="no key file"):
        KeyStore(path)


def test_the_keys_commands_create_list_and_revoke(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "sub" / "keys.json"
    assert (
        main(
            ["gateway", "keys", "create", "ui", "--agents", "fraud-*,research", "--file", str(path)]
        )
        == 0
    )
    created = capsys.readouterr()
    key = created.out.strip()
    assert key_id(key) is not None and "not shown again" in created.err
    monkeypatch.setenv("HIVEBUS_GATEWAY_KEYS", str(path))
    assert main(["gateway", "keys", "list"]) == 0
    listed = capsys.readouterr().out
    assert "ui" in listed and "fraud-*,research" in listed and "active" in listed
    assert key not in listed
    assert main(["gateway", "keys", "revoke", "ui"]) == 0
    assert "revoked key 'ui'" in capsys.readouterr().out
    assert main(["gateway", "keys", "revoke", "ui"]) == 1
    assert "no active key named 'ui'" in capsys.readouterr().err
    monkeypatch.delenv("HIVEBUS_GATEWAY_KEYS")
    assert main(["gateway", "keys", "list"]) == 1
    assert "HIVEBUS_GATEWAY_KEYS" in capsys.readouterr().err


def test_an_open_gateway_serves_only_on_loopback_unless_told_otherwise() -> None:
    from hivebus.cli.gateway import _check_open

    for host in ("127.0.0.1", "::1", "localhost"):
        _check_open(None, host, False)
    _check_open(None, "0.0.0.0", True)
    _check_open(Path("keys.json"), "0.0.0.0", False)
    with pytest.raises(ConfigError, match="--keys PATH"):
        _check_open(None, "0.0.0.0", False)


def test_a_record_is_equal_after_a_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    record = KeyRecord("0123456789ab", "n", digest("k"), ("a", "b*"), "2026-01-01T00:00:00Z")
    save(path, [record])
    assert load(path) == [record]
