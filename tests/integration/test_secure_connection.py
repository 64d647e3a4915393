"""Every client over SASL_SSL, configured by one connection file and nothing else.

A secure broker (SCRAM-SHA-512 over TLS, with a CA made for it) is started for this module on
ports of its own, beside the session's plain stack. The registry is the session's, behind an
HTTPS proxy that demands basic credentials (`registry_proxy.py`). An agent (`hivebus run
agents/fraud.py`), `hivebus publish` and `hivebus tail` then work through
`HIVEBUS_KAFKA_CONFIG` alone, as do `hivebus topology plan` and `apply`, and wrong
credentials are refused within seconds with the setting named and the secret nowhere in the
output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from hivebus.dev import Endpoints, LocalStack
from hivebus.dev.artifacts import kafka_libs
from hivebus.dev.health import kafka_ok
from hivebus.dev.java import find_java
from hivebus.dev.part import data_path
from hivebus.dev.secure import SecureBroker, render_properties
from hivebus.dev.settings import StackSettings
from hivebus.kafka.sources import CONFIG_ENV
from tests.integration.ports import free_ports
from tests.integration.registry_proxy import RunningProxy, registry_proxy

REPO = Path(__file__).resolve().parents[2]
TRANSACTION = REPO / "schemas" / "payments" / "Transaction.v2.avsc"
USER_INFO = "schema-reader:s3cret-registry-pw"
WRONG = "not-the-password-42"


@pytest.fixture(scope="module")
def secure(stack: Endpoints, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """The secure broker, started for this module and stopped after it."""
    kafka, controller, registry, management = free_ports(4)
    settings = replace(
        StackSettings.from_env(secure=True),
        state_dir=tmp_path_factory.mktemp("secure") / "state",
        kafka_port=kafka, controller_port=controller,
        registry_port=registry, registry_management_port=management,
    )  # fmt: skip
    local = LocalStack(settings)
    local.up(lambda _: None, only=["kafka"])
    try:
        yield local
    finally:
        local.down(lambda _: None, only=["kafka"])


@pytest.fixture(scope="module")
def proxy(secure: LocalStack, stack: Endpoints) -> Iterator[RunningProxy]:
    tls = SecureBroker(secure.settings).tls()
    with registry_proxy(stack.registry_url, USER_INFO, tls.server_cert, tls.server_key) as up:
        yield up


def write_config(
    path: Path, secure: LocalStack, proxy: RunningProxy, **changed: str | None
) -> Path:
    """A client.properties for the secure stack; `changed` replaces settings (None drops one)."""
    broker = SecureBroker(secure.settings)
    settings = {
        "bootstrap.servers": secure.settings.bootstrap_servers,
        **broker.client_settings(),
        "schema.registry.url": proxy.url,
        "basic.auth.credentials.source": "USER_INFO",
        "basic.auth.user.info": USER_INFO,
        "schema.registry.ssl.ca.location": str(broker.tls().ca),
    }
    for key, value in changed.items():
        settings.pop(key.replace("_", "."), None)
        if value is not None:
            settings[key.replace("_", ".")] = value
    path.write_text("# a client file as Kafka's tools take it\n" + render_properties(settings))
    return path


def line_of(config: Path, key: str) -> int:
    return next(
        n for n, line in enumerate(config.read_text().splitlines(), 1) if line.startswith(key)
    )


def only_file(config: Path) -> dict[str, str]:
    """This process's environment without any connection variable, plus the file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "SCHEMA_REG"))}
    return {**env, CONFIG_ENV: str(config)}


def cli(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hivebus.cli", *args], env=env, cwd=REPO,
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def publish(
    topic: str, tx_id: str, env: dict[str, str], *extra: str
) -> subprocess.CompletedProcess[str]:
    value = {
        "id": tx_id, "account": "acct-s1", "amount": 9000.0, "currency": "EUR",
        "channel": "card", "country": "FR", "merchant": "casino royale", "device_id": None,
    }  # fmt: skip
    return cli(
        "publish", topic, "--schema", str(TRANSACTION), "--key", "acct-s1",
        "--json", json.dumps(value), *extra, env=env,
    )  # fmt: skip


def compression_of(secure: LocalStack, topic: str) -> str:
    """The codec of the record batches on disk, as Kafka's own segment dump reports it."""
    segment = data_path(secure.settings, "kafka", "data") / f"{topic}-0" / f"{0:020d}.log"
    libs = kafka_libs(secure.settings.cache_dir, lambda _: None)
    dump = subprocess.run(
        [str(find_java().path), "-cp", f"{libs}/*", "kafka.tools.DumpLogSegments",
         "--files", str(segment)],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return dump.stdout


def test_only_sasl_ssl_clients_reach_the_secure_broker(secure: LocalStack) -> None:
    bootstrap = secure.settings.bootstrap_servers
    assert kafka_ok(bootstrap, security=SecureBroker(secure.settings).client_settings())
    assert not kafka_ok(bootstrap, timeout_s=2)  # plaintext: the listener speaks only TLS


def test_an_agent_publish_and_tail_work_through_the_connection_file_alone(
    secure: LocalStack, proxy: RunningProxy, tmp_path: Path
) -> None:
    env = only_file(write_config(tmp_path / "client.properties", secure, proxy))
    topic, tx_id = f"transactions.secure{uuid.uuid4().hex[:6]}", f"tx-{uuid.uuid4().hex[:8]}"
    agent = subprocess.Popen(
        [sys.executable, "-m", "hivebus.cli", "run", "agents/fraud.py"], env=env, cwd=REPO,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        # gzip, not hivebus's lz4: a team whose consumers cannot read lz4 chooses it here.
        published = publish(topic, tx_id, env, "--producer-config", "compression.type=gzip")
        assert published.returncode == 0, published.stderr
        tailed = cli(
            "tail", "transactions.flagged", "--from-beginning", "--max", "1", "--timeout", "60",
            env=env, timeout=90,
        )  # fmt: skip
        assert tailed.returncode == 0, tailed.stderr
        assert "type=hivebus.examples.payments.FlaggedTransaction" in tailed.stdout
        assert f'"tx_id":"{tx_id}"' in tailed.stdout
    finally:
        agent.terminate()
        output, _ = agent.communicate(timeout=60)
    assert agent.returncode == 0, output
    assert proxy.tally.authorized > 0  # publish, tail and the agent all sent the credentials
    assert proxy.tally.refused == 0
    assert "compresscodec: gzip" in compression_of(secure, topic)


def test_topology_plan_and_apply_work_through_the_connection_file_alone(
    secure: LocalStack, proxy: RunningProxy, tmp_path: Path
) -> None:
    env = only_file(write_config(tmp_path / "client.properties", secure, proxy))
    topic = f"secure.orders{uuid.uuid4().hex[:6]}"
    topology = tmp_path / "secure.yaml"
    topology.write_text(
        f"name: secure\ntopics:\n  {topic}: {{partitions: 2, retention: 3d}}\n"
        f"contracts:\n  - schema: {TRANSACTION}\n    topics: [{topic}]\n"
    )
    planned = cli("topology", "plan", str(topology), env=env)
    assert planned.returncode == 2, planned.stdout + planned.stderr
    assert secure.settings.bootstrap_servers in planned.stdout  # planned against the secure one
    applied = cli("topology", "apply", str(topology), env=env)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    again = cli("topology", "plan", str(topology), env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "No changes" in again.stdout
    assert proxy.tally.refused == 0


@pytest.mark.parametrize("command", ["publish", "run"])
def test_a_wrong_kafka_password_is_refused_in_seconds_naming_the_setting(
    secure: LocalStack, proxy: RunningProxy, tmp_path: Path, command: str
) -> None:
    config = write_config(tmp_path / "wrong.properties", secure, proxy, sasl_password=WRONG)
    env = only_file(config)
    started = time.monotonic()
    if command == "publish":
        done = publish("transactions.refused", "tx-refused", env)
    else:
        done = cli("run", "agents/fraud.py", env=env, timeout=60)
    took = time.monotonic() - started
    assert done.returncode == 1, done.stdout + done.stderr
    assert took < 15, f"took {took:.1f} s"
    assert "refused the credentials" in done.stderr
    assert "SASL authentication error" in done.stderr
    assert f"sasl.password (from {config} line {line_of(config, 'sasl.password')})" in done.stderr
    assert WRONG not in done.stdout + done.stderr


def test_a_broker_certificate_without_its_ca_is_refused_naming_ssl_ca_location(
    secure: LocalStack, proxy: RunningProxy, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "no-ca.properties", secure, proxy, ssl_ca_location=None)
    done = publish("transactions.untrusted", "tx-untrusted", only_file(config))
    assert done.returncode == 1
    assert "failed the TLS handshake" in done.stderr
    assert "certificate verify failed" in done.stderr
    assert "check ssl.ca.location (not set)" in done.stderr


def test_wrong_registry_credentials_are_refused_naming_the_setting(
    secure: LocalStack, proxy: RunningProxy, tmp_path: Path
) -> None:
    wrong = write_config(
        tmp_path / "wrong-registry.properties", secure, proxy,
        basic_auth_user_info=f"schema-reader:{WRONG}",
    )  # fmt: skip
    refused_before = proxy.tally.refused
    done = publish("transactions.registry", "tx-registry", only_file(wrong))
    assert done.returncode == 1
    assert "refused access" in done.stderr
    assert "HTTP 401" in done.stderr
    line = line_of(wrong, "basic.auth.user.info")
    assert f"basic.auth.user.info (from {wrong} line {line})" in done.stderr
    assert WRONG not in done.stdout + done.stderr
    assert proxy.tally.refused > refused_before


def test_dev_env_points_at_the_secure_stack_and_masks_its_password(secure: LocalStack) -> None:
    env = {
        **os.environ,
        "HIVEBUS_SECURE_STATE_DIR": str(secure.settings.state_dir),
        "HIVEBUS_DEV_SECURE_KAFKA_PORT": str(secure.settings.kafka_port),
    }
    shown = cli("dev", "env", "--secure", env=env)
    assert shown.returncode == 0, shown.stderr
    client_file = SecureBroker(secure.settings).client_file
    assert f"export {CONFIG_ENV}={client_file}" in shown.stdout
    assert f"export KAFKA_BOOTSTRAP_SERVERS={secure.settings.bootstrap_servers}" in shown.stdout
    assert "sasl.password=***" in shown.stdout
    password = SecureBroker(secure.settings).client_settings()["sasl.password"]
    assert password not in shown.stdout
