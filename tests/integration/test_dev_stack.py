"""`hivebus dev` on a second, isolated stack: idempotent up, persistence, down by pid only."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from hivebus.dev import LocalStack
from hivebus.dev.part import StackError
from hivebus.dev.settings import StackSettings
from tests.integration.ports import free_ports

GREETING = {"type": "record", "name": "Hi", "fields": [{"name": "text", "type": "string"}]}


@pytest.fixture
def isolated(tmp_path: Path) -> Iterator[LocalStack]:
    kafka, controller, registry, management = free_ports(4)
    settings = replace(
        StackSettings.from_env(),
        state_dir=tmp_path / "state",
        kafka_port=kafka,
        controller_port=controller,
        registry_port=registry,
        registry_management_port=management,
    )
    stack = LocalStack(settings)
    yield stack
    stack.down(progress=lambda _: None)


def test_up_is_idempotent_persists_schemas_and_down_stops_only_its_own(
    isolated: LocalStack,
) -> None:
    quiet = lambda _: None  # noqa: E731
    first = isolated.up(quiet)
    assert first.started == ("kafka", "registry")
    pids = [part.pid for part in isolated.status()]
    assert all(part.healthy for part in isolated.status())

    again = isolated.up(quiet)
    assert again.started == ()
    assert [part.pid for part in isolated.status()] == pids

    client = SchemaRegistryClient({"url": isolated.endpoints.registry_url})
    schema_id = client.register_schema("hi-value", Schema(json.dumps(GREETING), "AVRO"))

    assert isolated.down(quiet) == ["registry", "kafka"]
    assert [part.pid for part in isolated.status()] == [None, None]
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists()

    isolated.up(quiet)
    client = SchemaRegistryClient({"url": isolated.endpoints.registry_url})
    assert client.get_latest_version("hi-value").schema_id == schema_id


def test_a_busy_port_is_refused_with_the_setting_to_change(isolated: LocalStack) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", isolated.settings.kafka_port))
        squatter.listen()
        with pytest.raises(StackError, match="kafka_port"):
            isolated.up(lambda _: None)
    assert [part.pid for part in isolated.status()] == [None, None]
