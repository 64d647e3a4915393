"""One real broker and registry for the whole session; tests isolate by unique names."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import SchemaRegistryClient

from hivebus.contracts.endpoints import REGISTRY_ENV
from hivebus.dev import Endpoints
from hivebus.kafka.endpoints import BOOTSTRAP_ENV
from hivebus.testing.stack import provide_stack, unique_name


@pytest.fixture(scope="session")
def stack() -> Iterator[Endpoints]:
    """The session's broker and registry, exported so hivebus code and CLIs find them."""
    with provide_stack() as endpoints:
        saved = {name: os.environ.get(name) for name in (BOOTSTRAP_ENV, REGISTRY_ENV)}
        os.environ[BOOTSTRAP_ENV] = endpoints.bootstrap_servers
        os.environ[REGISTRY_ENV] = endpoints.registry_url
        try:
            yield endpoints
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


@pytest.fixture(scope="session")
def admin(stack: Endpoints) -> AdminClient:
    return AdminClient({"bootstrap.servers": stack.bootstrap_servers})


@pytest.fixture(scope="session")
def registry(stack: Endpoints) -> SchemaRegistryClient:
    return SchemaRegistryClient({"url": stack.registry_url})


@pytest.fixture
def topic(admin: AdminClient) -> str:
    """A fresh one-partition topic."""
    return create_topic(admin, unique_name("test"))


def create_topic(admin: AdminClient, name: str, partitions: int = 1) -> str:
    futures = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    futures[name].result(timeout=30)
    return name
