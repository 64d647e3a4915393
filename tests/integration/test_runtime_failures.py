"""Nothing is dropped: poison records and failing handlers end in the dead-letter topic."""

from __future__ import annotations

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient

from hivebus import Agent, Context, Retry
from hivebus.contracts import Serde
from hivebus.dev import Endpoints
from hivebus.runtime.dlq_reader import read_dead_letters
from hivebus.testing.reader import read_events
from hivebus.testing.stack import unique_name
from hivebus.testing.worker import running, wait_for
from tests.integration.runtime_contracts import Ping, Pong
from tests.integration.runtime_support import hivebus, pings, publish, topics


def _flaky_agent(name: str, source: str, output: str, broken: set[str], calls: list[str]) -> Agent:
    agent = Agent(name, retry=Retry(attempts=3, backoff_s=0.01))

    @agent.on(source, Ping, output=output)
    async def relay(ping: Ping, ctx: Context) -> Pong:
        calls.append(ping.id)
        if ping.id in broken:
            raise ValueError(f"cannot handle {ping.id}")
        return Pong(id=ping.id, key=ping.key, seq=ping.seq)

    return agent


async def test_poison_records_are_dead_lettered_with_original_bytes_while_valid_events_flow(
    stack: Endpoints, admin: AdminClient, registry: SchemaRegistryClient
) -> None:
    source, output = topics(admin, "poison", partitions=1)
    name = unique_name("poisoned")
    calls: list[str] = []
    agent = _flaky_agent(name, source, output, {"p2"}, calls)
    serde = Serde(registry)
    valid = serde.encoder(source, Ping).encode(Ping(id="x", key="k", seq=0))
    poison = {
        b"not avro at all": "bad-magic-byte",
        b"\x00\x00\xff\xff\xf0" + valid[5:]: "unknown-schema-id",
        valid[:6]: "truncated-avro",
    }
    raw = Producer({"bootstrap.servers": stack.bootstrap_servers})
    for value in poison:
        raw.produce(source, value, key=b"poison", headers=[("trace", b"kept")])
    assert raw.flush(30) == 0

    async with running([agent]):
        await publish(source, pings(6))
        got = await read_events(serde, output, Pong, 5)
        letters: list = []

        def collected() -> bool:
            letters[:] = list(read_dead_letters(name, unreplayed_only=False, timeout_s=2))
            return len(letters) == 4

        await wait_for(collected, what="four dead letters")

    assert sorted(r.event.id for r in got) == ["p0", "p1", "p3", "p4", "p5"]
    assert calls.count("p2") == 3  # every attempt ran, then it was dead-lettered
    undecodable = {
        bytes(letter.value): letter for letter in letters if letter.error["kind"] == "undecodable"
    }
    assert set(undecodable) == set(poison)  # the original bytes, untouched
    for value, reason in poison.items():
        letter = undecodable[value]
        assert letter.error["type"] == reason
        assert letter.error["topic"] == source
        assert letter.key == b"poison"
        assert ("trace", b"kept") in letter.headers
    [failed] = [letter for letter in letters if letter.error["kind"] == "handler"]
    assert failed.error["type"] == "ValueError"
    assert failed.error["attempts"] == "3"
    assert "cannot handle p2" in failed.error["message"]
    assert serde.decode(failed.value or b"", Ping).id == "p2"
    assert int(failed.error["offset"]) >= 0


async def test_replayed_dead_letters_are_handled_once_the_fault_is_fixed(
    admin: AdminClient, registry: SchemaRegistryClient
) -> None:
    source, output = topics(admin, "replay", partitions=1)
    name = unique_name("fixable")
    broken, calls = {"p1"}, []
    agent = _flaky_agent(name, source, output, broken, calls)
    serde = Serde(registry)
    async with running([agent]):
        await publish(source, pings(3))
        await read_events(serde, output, Pong, 2)
        await wait_for(
            lambda: len(list(read_dead_letters(name, unreplayed_only=True, timeout_s=2))) == 1,
            what="the dead letter",
        )
        listed = hivebus("dlq", "list", name, "--pending")
        assert "1 dead letter(s)" in listed.stdout
        assert "handler/ValueError after 3 attempt(s): cannot handle p1" in listed.stdout
        broken.clear()  # the fix is deployed
        replayed = hivebus("dlq", "replay", name)
        assert f"-> {source}" in replayed.stdout
        assert "replayed 1 dead letter(s)" in replayed.stdout
        again = hivebus("dlq", "replay", name)  # already replayed: nothing is sent twice
        assert "replayed 0 dead letter(s)" in again.stdout
        got = await read_events(serde, output, Pong, 3)
    assert sorted(r.event.id for r in got) == ["p0", "p1", "p2"]
