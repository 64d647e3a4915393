"""The registry client's connection: URL, basic or bearer credentials and TLS from the same
file and variables as Kafka's, checked by the client itself, secrets never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from hivebus.contracts import registry_client
from hivebus.contracts.errors import RegistryAccessDenied
from hivebus.contracts.registry_config import registry_connection, registry_url
from hivebus.errors import ConfigError
from tests.unit.connection_support import client_file
from tests.unit.test_contracts_outage import VALUE, answering

CONFLUENT_STYLE = (
    "bootstrap.servers=pkc-1.example.cloud:9092\n"
    "security.protocol=SASL_SSL\n"
    "sasl.mechanism=PLAIN\n"
    "sasl.username=KAFKAKEY\n"
    "sasl.password=kafka-secret\n"
    "schema.registry.url=https://psrc-1.example.cloud\n"
    "basic.auth.credentials.source=USER_INFO\n"
    "basic.auth.user.info=SRKEY:registry-secret\n"
)


def refusal() -> str:
    with pytest.raises(ConfigError) as refused:
        registry_connection()
    return str(refused.value)


def test_a_confluent_style_client_file_configures_the_registry_client(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    client_file(tmp_path / "client.properties", CONFLUENT_STYLE, clean_env)
    assert registry_url() == "https://psrc-1.example.cloud"
    rest = registry_client()._rest_client
    assert rest.auth == ("SRKEY", "registry-secret")
    shown = "\n".join(registry_connection().lines())
    assert "schema.registry.basic.auth.user.info=***" in shown
    assert "registry-secret" not in shown


def test_variables_win_over_the_file_and_secrets_may_come_from_files(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    client_file(tmp_path / "client.properties", CONFLUENT_STYLE, clean_env)
    secret = tmp_path / "user-info"
    secret.write_text("other:from-file\n")
    clean_env.setenv("SCHEMA_REGISTRY_URL", "https://registry.internal/apis/ccompat/v7")
    clean_env.setenv("SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO_FILE", str(secret))
    assert registry_url() == "https://registry.internal/apis/ccompat/v7"
    assert registry_client()._rest_client.auth == ("other", "from-file")


def test_credentials_go_only_to_the_registry_they_are_for(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    client_file(tmp_path / "client.properties", CONFLUENT_STYLE, clean_env)
    assert registry_client("https://psrc-1.example.cloud")._rest_client.auth is not None
    assert registry_client("http://127.0.0.1:1/apis/ccompat/v7")._rest_client.auth is None


def test_sasl_inherit_sends_kafkas_credentials(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    text = CONFLUENT_STYLE.replace("USER_INFO\n", "SASL_INHERIT\n").replace(
        "basic.auth.user.info=SRKEY:registry-secret\n", ""
    )
    client_file(tmp_path / "client.properties", text, clean_env)
    assert registry_client()._rest_client.auth == ("KAFKAKEY", "kafka-secret")


def test_a_bearer_token_is_sent_as_a_static_token(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("SCHEMA_REGISTRY_URL", "https://registry.internal")
    clean_env.setenv("SCHEMA_REGISTRY_BEARER_AUTH_TOKEN", "tok-123")
    rest = registry_client()._rest_client
    headers: dict[str, str] = {}
    rest.handle_bearer_auth(headers)
    assert headers["Authorization"] == "Bearer tok-123"
    assert rest.auth is None


def test_a_private_ca_is_the_registry_clients_own(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = client_file(
        tmp_path / "c.properties",
        "schema.registry.url=https://r\nschema.registry.ssl.ca.location=/no/ca.pem\n",
        clean_env,
    )
    assert refusal().startswith(
        f"invalid schema registry setting 'ssl.ca.location' ({path} line 2, "
        "schema.registry.ssl.ca.location): "
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("basic.auth.user.info=no-colon-secret\n",
         "basic.auth.user.info (F line 1) must be user:password (no ':' found)"),
        ("basic.auth.credentials.source=SASL\n",
         "basic.auth.credentials.source (F line 1) must be one of USER_INFO, URL, SASL_INHERIT"),
        ("schema.registry.cache.capacityy=5\n",
         "invalid schema registry setting 'cache.capacityy' (F line 1, "
         "schema.registry.cache.capacityy): Unrecognized properties: cache.capacityy"),
        ("basic.auth.user.info=u:p\nbearer.auth.token=t\n", "choose basic or bearer credentials"),
    ],
)  # fmt: skip
def test_bad_registry_settings_are_named_with_their_line(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, text: str, expected: str
) -> None:
    path = client_file(tmp_path / "c.properties", text, clean_env)
    message = refusal().replace(str(path), "F")
    assert expected in message
    assert "no-colon-secret" not in message


def test_a_401_names_the_credentials_to_check_and_holds_the_record_back(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = client_file(tmp_path / "c.properties", "basic.auth.user.info=u:pw-42\n", clean_env)
    with pytest.raises(RegistryAccessDenied) as denied:  # a RegistryUnavailable: retried
        answering(401, "Unauthorized").writer(VALUE)
    message = str(denied.value)
    assert "refused access (fetching schema id 1): HTTP 401: Unauthorized" in message
    assert f"check basic.auth.user.info (from {path} line 1)" in message
    assert "pw-42" not in message

    clean_env.delenv("HIVEBUS_KAFKA_CONFIG")
    with pytest.raises(RegistryAccessDenied, match="no registry credentials are configured"):
        answering(403, "Forbidden").writer(VALUE)


def test_a_url_with_credentials_is_never_shown_with_its_password(
    clean_env: pytest.MonkeyPatch,
) -> None:
    clean_env.setenv("SCHEMA_REGISTRY_URL", "https://user:url-secret@registry.internal")
    shown = "\n".join(registry_connection().lines())
    assert "https://user:***@registry.internal" in shown
    assert "url-secret" not in shown
    assert registry_client()._rest_client.auth == ("user", "url-secret")  # still sent
