"""Sync registry calls give up: no answer, a refused connection or an HTTP 5xx is
`RegistryUnavailable` naming the URL, while the registry's real answers keep their own errors.

The hung and the refusing registry are real sockets on localhost, so the real httpx transport
is what times out; status codes come from a fake client.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryError

from hivebus.contracts import (
    ContractError,
    IncompatibleContract,
    RegistryUnavailable,
    Serde,
    UndecodableRecord,
    registry_client,
)
from hivebus.contracts.registry import DEFAULT_TIMEOUT_S
from hivebus.contracts.wire import frame_header
from tests.integration.runtime_contracts import Ping

VALUE = frame_header(1) + b"\x02p\x02k\x00\x00"


@contextmanager
def silent_registry() -> Iterator[str]:
    """A port the kernel accepts connections on but nobody ever answers: a hung registry."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/apis/ccompat/v7"


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/apis/ccompat/v7"


def test_the_client_has_a_timeout_and_one_quick_retry() -> None:
    rest = registry_client("http://127.0.0.1:1", timeout_s=3.5)._rest_client
    assert rest.timeout == 3.5
    limits = rest.session.timeout  # the httpx client's: connect, read, write and pool
    assert (limits.connect, limits.read, limits.write, limits.pool) == (3.5, 3.5, 3.5, 3.5)
    assert (rest.max_retries, rest.retries_wait_ms, rest.retries_max_wait_ms) == (1, 250, 250)
    assert registry_client("http://127.0.0.1:1")._rest_client.timeout == DEFAULT_TIMEOUT_S == 10


def test_a_hung_registry_times_out_on_every_sync_path() -> None:
    with silent_registry() as url:
        client = registry_client(url, timeout_s=0.3)
        paths: dict[str, Callable[[], object]] = {
            "fetching schema id 1": lambda: Serde(client).writer(VALUE),
            "registering test.runtime.Ping": lambda: Serde(client).encoder("t", Ping),
            "looking up test.runtime.Ping": lambda: Serde(client, auto_register=False).encoder(
                "t", Ping
            ),
        }
        for action, call in paths.items():
            started = time.monotonic()
            with pytest.raises(RegistryUnavailable) as error:
                call()
            elapsed = time.monotonic() - started
            assert 0.6 <= elapsed < 1.5  # two attempts of 0.3 s and at most 0.25 s between
            assert error.value.url == url
            assert action in str(error.value)
            assert "timed out after 0.3 s (ReadTimeout)" in str(error.value)


def test_a_refused_connection_names_the_url() -> None:
    url = closed_port_url()
    started = time.monotonic()
    with pytest.raises(RegistryUnavailable) as error:
        Serde(registry_client(url, timeout_s=5)).writer(VALUE)
    assert time.monotonic() - started < 1.0
    assert str(error.value).startswith(f"the schema registry at {url} is unavailable")
    assert "connection refused" in error.value.failure


class Answers:
    """A registry that answers every call with `error`, and knows one older Ping schema."""

    def __init__(self, error: SchemaRegistryError) -> None:
        self.error = error

    def get_schema(self, schema_id: int) -> Schema:
        raise self.error

    def register_schema(self, subject: str, schema: Schema) -> int:
        raise self.error

    def get_compatibility(self, subject: str | None = None) -> str:
        return "BACKWARD"

    def get_latest_version(self, subject: str) -> Any:
        old = {"type": "record", "name": "Ping", "namespace": "test.runtime", "fields": []}
        return SimpleNamespace(schema=Schema(json.dumps(old), "AVRO"), version=1)


def answering(status: int, message: str) -> Serde:
    return Serde(Answers(SchemaRegistryError(status, status * 100, message)))  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408, 429])
def test_a_failing_registry_is_unavailable(status: int) -> None:
    serde = answering(status, "not now")
    for call in (lambda: serde.writer(VALUE), lambda: serde.encoder("t", Ping)):
        with pytest.raises(RegistryUnavailable) as error:
            call()
        assert error.value.failure == f"HTTP {status}: not now"


def test_the_registrys_own_answers_keep_their_errors() -> None:
    unknown = answering(404, "Schema 1 not found.")
    with pytest.raises(UndecodableRecord) as undecodable:
        unknown.writer(VALUE)
    assert undecodable.value.reason == "unknown-schema-id"

    conflict = answering(409, "incompatible")
    with pytest.raises(IncompatibleContract) as incompatible:
        conflict.encoder("t", Ping)
    assert incompatible.value.subject == "t-value"
    assert any("seq" in reason for reason in incompatible.value.reasons)

    invalid = answering(422, "bad schema")
    with pytest.raises(ContractError, match="refused") as refused:
        invalid.encoder("t", Ping)
    assert not isinstance(refused.value, RegistryUnavailable)
