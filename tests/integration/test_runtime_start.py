"""What a worker checks before it consumes anything."""

from __future__ import annotations

import pytest
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient

from hivebus import Agent, Context
from hivebus.contracts import IncompatibleContract, Serde
from hivebus.testing.stack import unique_name
from hivebus.testing.worker import running
from tests.integration.runtime_contracts import Ping, Pong
from tests.integration.runtime_support import topics


async def test_an_output_contract_the_registry_refuses_stops_the_worker_at_start(
    admin: AdminClient, registry: SchemaRegistryClient
) -> None:
    source, output = topics(admin, "refused", partitions=1)
    Serde(registry).encoder(output, Ping)  # the output topic's subject now holds Ping
    agent = Agent(unique_name("refused"))

    @agent.on(source, Ping, output=output)
    def relay(ping: Ping, ctx: Context) -> Pong:  # Pong cannot replace Ping in that subject
        return Pong(id=ping.id, key=ping.key, seq=ping.seq)

    with pytest.raises(IncompatibleContract) as refused:
        async with running([agent], join_timeout_s=30):
            pytest.fail("the worker ran with an output contract the registry refuses")
    assert f"{output}-value" in str(refused.value)
