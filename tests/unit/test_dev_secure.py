"""The secure local stack's pieces: its certificates, its broker settings, its ports."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from cryptography import x509

from hivebus.dev.secure import override_properties
from hivebus.dev.settings import StackSettings
from hivebus.dev.tls import ensure_tls


def test_the_broker_certificate_is_signed_by_the_ca_and_names_the_host(tmp_path: Path) -> None:
    files = ensure_tls(tmp_path / "tls", "127.0.0.1")
    ca = x509.load_pem_x509_certificate(files.ca.read_bytes())
    server = x509.load_pem_x509_certificate(files.server_cert.read_bytes())
    server.verify_directly_issued_by(ca)
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("127.0.0.1") in names.get_values_for_type(x509.IPAddress)
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    assert files.server_key.stat().st_mode & 0o077 == 0  # private keys: owner only
    before = files.ca.read_bytes()
    assert ensure_tls(tmp_path / "tls", "127.0.0.1") == files
    assert files.ca.read_bytes() == before  # kept, not made again: clients keep trusting it


def test_the_secure_settings_replace_the_template_lines_and_add_the_rest() -> None:
    text = "# listeners=commented\nlisteners=PLAINTEXT://h:1\nnode.id=1\n"
    changed = override_properties(
        text, {"listeners": "SASL_SSL://h:1", "sasl.enabled.mechanisms": "X"}
    )
    assert changed.splitlines()[:3] == [
        "# listeners=commented",
        "listeners=SASL_SSL://h:1",
        "node.id=1",
    ]
    assert changed.splitlines()[-1] == "sasl.enabled.mechanisms=X"


def test_the_secure_stack_has_its_own_ports_and_state(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HIVEBUS_SECURE_STATE_DIR", "HIVEBUS_DEV_SECURE_KAFKA_PORT"):
        monkeypatch.delenv(name, raising=False)
    plain, secure = StackSettings.from_env(), StackSettings.from_env(secure=True)
    assert secure.bootstrap_servers == "127.0.0.1:29092"
    assert secure.registry_url.startswith("http://127.0.0.1:28081/")
    assert secure.state_dir.name == ".hivebus-secure" != plain.state_dir.name
    monkeypatch.setenv("HIVEBUS_DEV_SECURE_KAFKA_PORT", "39092")
    assert StackSettings.from_env(secure=True).kafka_port == 39092
    assert StackSettings.from_env().kafka_port == plain.kafka_port
