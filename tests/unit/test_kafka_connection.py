"""One connection configuration for every client: defaults < the file < variables < the
caller's overrides; bad settings named with where they came from; secrets never shown."""

from __future__ import annotations

from pathlib import Path

import pytest
from confluent_kafka import KafkaError

from hivebus.errors import ConfigError
from hivebus.kafka.access import denial
from hivebus.kafka.config import consumer_config, producer_config
from hivebus.kafka.connection import bootstrap_servers, configured_bootstrap, connection
from tests.unit.connection_support import client_file

SECURE = (
    "bootstrap.servers=broker-1:9093,broker-2:9093\n"
    "security.protocol=SASL_SSL\n"
    "sasl.mechanism=SCRAM-SHA-512\n"
    "sasl.username=alice\n"
    "sasl.password=file-secret\n"
    "compression.type=gzip\n"
    "session.timeout.ms=30000\n"
)


def refusal() -> str:
    with pytest.raises(ConfigError) as refused:
        connection()
    return str(refused.value)


def test_without_configuration_clients_reach_the_local_stack(clean_env: pytest.MonkeyPatch) -> None:
    assert bootstrap_servers() == "127.0.0.1:19092"
    assert configured_bootstrap() is None
    assert consumer_config("g")["bootstrap.servers"] == "127.0.0.1:19092"


def test_the_file_reaches_every_client_and_variables_win_over_it(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    client_file(tmp_path / "client.properties", SECURE, clean_env)
    clean_env.setenv("KAFKA_SASL_USERNAME", "bob")
    consumer, producer = consumer_config("agent"), producer_config("p")
    for config in (consumer, producer):
        assert config["bootstrap.servers"] == "broker-1:9093,broker-2:9093"
        assert config["security.protocol"] == "SASL_SSL"
        assert config["sasl.username"] == "bob"  # the variable over the file
        assert config["sasl.password"] == "file-secret"
    assert configured_bootstrap() == "broker-1:9093,broker-2:9093"
    assert connection().origin("sasl.username") == "KAFKA_SASL_USERNAME"
    assert connection().origin("sasl.password") == f"{tmp_path / 'client.properties'} line 5"


def test_client_settings_of_the_file_beat_hivebus_defaults_and_lose_to_overrides(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    client_file(tmp_path / "client.properties", SECURE, clean_env)
    assert producer_config("p")["compression.type"] == "gzip"  # hivebus's default is lz4
    assert producer_config("p", {"compression.type": "zstd"})["compression.type"] == "zstd"
    assert consumer_config("g")["session.timeout.ms"] == "30000"
    # Each client gets only what it uses: librdkafka would warn about the others.
    assert "compression.type" not in consumer_config("g")
    assert "session.timeout.ms" not in producer_config("p")
    assert consumer_config("g")["group.id"] == "g"


def test_a_secret_can_come_from_a_file_and_is_never_shown(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret = tmp_path / "password"
    secret.write_text("from-a-secret-file\n")  # the newline `echo` leaves is not part of it
    clean_env.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    clean_env.setenv("KAFKA_SASL_MECHANISM", "PLAIN")
    clean_env.setenv("KAFKA_SASL_USERNAME", "alice")
    clean_env.setenv("KAFKA_SASL_PASSWORD_FILE", str(secret))
    found = connection()
    assert found.values()["sasl.password"] == "from-a-secret-file"
    assert found.origin("sasl.password") == f"KAFKA_SASL_PASSWORD_FILE ({secret})"
    shown = "\n".join(found.lines())
    assert "sasl.password=***" in shown
    assert "from-a-secret-file" not in shown
    assert "sasl.username=alice  (KAFKA_SASL_USERNAME)" in shown

    clean_env.setenv("KAFKA_SASL_PASSWORD", "also")
    assert "set KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE, not both" in refusal()


def test_a_bad_value_is_named_with_its_file_and_line(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = client_file(tmp_path / "c.properties", "compression.type=lz5\n", clean_env)
    assert refusal().startswith(
        f"invalid Kafka setting 'compression.type' ({path} line 1): Invalid value \"lz5\""
    )
    client_file(path, "linger.mss=5\n", clean_env)
    assert refusal() == (
        f"invalid Kafka setting 'linger.mss' ({path} line 1): No such configuration property"
    )


def test_a_bad_value_is_named_with_its_variable(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    clean_env.setenv("KAFKA_SASL_MECHANISM", "SCRAM-SHA-999")
    clean_env.setenv("KAFKA_SASL_USERNAME", "u")
    clean_env.setenv("KAFKA_SASL_PASSWORD", "pw-in-no-message")
    message = refusal()
    assert message.startswith("invalid Kafka setting 'sasl.mechanism' (KAFKA_SASL_MECHANISM)")
    assert "pw-in-no-message" not in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sasl.username=u\n", "sasl.username (F line 1) is never used: security.protocol is "
         "PLAINTEXT (the default)"),
        ("security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\nsasl.username=u\n",
         "sasl.mechanism PLAIN (F line 2) needs sasl.username and sasl.password; sasl.password "
         "is not set"),
        ("security.protocol=SASL_SSL\n", "security.protocol is SASL_SSL (F line 1) but "
         "sasl.mechanism is not set"),
        ("security.protocol=SSL\nssl.ca.location=/no/such/ca.pem\n",
         "ssl.ca.location (F line 2): /no/such/ca.pem does not exist"),
        ("sasl.jaas.config=x required;\n", "sasl.jaas.config (F line 1) is a setting of Kafka's "
         "Java client: librdkafka takes sasl.mechanism, sasl.username and sasl.password"),
        ("ssl.truststore.location=/x.jks\n", "librdkafka takes the CA certificate as a PEM file"),
        ("group.id=shared\n", "group.id (F line 1) is set by hivebus"),
        ("enable.auto.commit=true\n", "hivebus commits offsets itself"),
    ],
)  # fmt: skip
def test_settings_that_cannot_work_are_refused_before_any_connection(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, text: str, expected: str
) -> None:
    path = client_file(tmp_path / "c.properties", text, clean_env)
    assert expected in refusal().replace(str(path), "F")


def test_a_missing_file_names_the_variable(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("HIVEBUS_KAFKA_CONFIG", str(tmp_path / "absent.properties"))
    assert (
        refusal()
        == f"HIVEBUS_KAFKA_CONFIG names {tmp_path / 'absent.properties'}, which is not a file"
    )


def test_a_changed_file_is_read_again(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = client_file(tmp_path / "c.properties", "bootstrap.servers=one:9092\n", clean_env)
    assert bootstrap_servers() == "one:9092"
    path.write_text("bootstrap.servers=second-broker:9092\n")
    assert bootstrap_servers() == "second-broker:9092"


def test_a_refused_login_names_the_settings_to_check_and_no_secret(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = client_file(tmp_path / "c.properties", SECURE, clean_env)
    error = KafkaError(KafkaError._AUTHENTICATION, "SASL authentication error: file-secret bad")
    denied = denial(error)
    assert denied is not None
    message = str(denied)
    assert message.startswith("Kafka at broker-1:9093,broker-2:9093 refused the credentials")
    assert f"sasl.password (from {path} line 5)" in message
    assert "file-secret" not in message
    assert denial(KafkaError(KafkaError._ALL_BROKERS_DOWN, "1/1 brokers are down")) is None
    tls = denial(KafkaError(KafkaError._SSL, "SSL handshake failed: certificate verify failed"))
    assert tls is not None
    assert "check ssl.ca.location (not set)" in str(tls)
