"""The `hivebus` command line against the real stack, run as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient

from hivebus.dev import Endpoints
from hivebus.testing.stack import unique_name
from hivebus.testing.worker import running
from tests.integration.runtime_support import hivebus, relay_agent, topics

PING = Path(__file__).parents[1] / "schemas" / "runtime" / "Ping.avsc"
PAYMENT = Path(__file__).parents[1] / "schemas" / "contracts" / "payment.v2.avsc"


def test_publish_then_tail_round_trips_an_event(topic: str) -> None:
    value = {"id": "cli-1", "key": "acct-9", "seq": 7, "payload": "hello"}
    published = hivebus(
        "publish", topic, "--schema", str(PING), "--key", "acct-9", "--json", json.dumps(value)
    )
    assert published.returncode == 0, published.stderr
    event_id = published.stdout.split(" as ")[1].split()[0]

    tailed = hivebus("tail", topic, "--from-beginning", "--max", "1", "--timeout", "20")
    assert tailed.returncode == 0, tailed.stderr
    [line] = tailed.stdout.strip().splitlines()
    assert f"{topic}[0]@0 key=acct-9 type=test.runtime.Ping id={event_id}" in line
    assert json.loads(line[line.index("{") :]) == value


def test_publish_rejects_a_value_that_breaks_the_contract(topic: str) -> None:
    bad = hivebus("publish", topic, "--schema", str(PING), "--json", '{"id": "x", "seq": "one"}')
    assert bad.returncode == 1
    assert "does not fit test.runtime.Ping" in bad.stderr


def test_publish_refuses_a_field_the_contract_lacks_and_publishes_nothing(
    topic: str, stack: Endpoints, registry: SchemaRegistryClient
) -> None:
    # `payload` has a default: without the check the event went out with payload="".
    misspelt = {"id": "x", "key": "acct-1", "seq": 3, "paylod": "hi"}
    bad = hivebus("publish", topic, "--schema", str(PING), "--json", json.dumps(misspelt))
    assert bad.returncode == 1
    [line] = bad.stderr.strip().splitlines()
    assert "test.runtime.Ping has no field 'paylod' (did you mean 'payload'?)" in line

    nested = {"id": "p1", "amount": 1.0, "kind": "CARD", "merchant": {"name": "m", "contry": "FR"}}
    bad = hivebus("publish", topic, "--schema", str(PAYMENT), "--json", json.dumps(nested))
    assert bad.returncode == 1
    assert (
        "hivebus.tests.contracts.Payment has no field 'merchant.contry' "
        "(did you mean 'merchant.country'?)"
    ) in bad.stderr

    probe = Consumer({"bootstrap.servers": stack.bootstrap_servers, "group.id": topic})
    try:
        assert probe.get_watermark_offsets(TopicPartition(topic, 0), timeout=10) == (0, 0)
    finally:
        probe.close()
    assert f"{topic}-value" not in registry.get_subjects()  # not even the schema was registered


def test_schemas_check_fails_on_an_incompatible_change_and_names_the_field(
    tmp_path: Path, topic: str
) -> None:
    namespace = "test.cli.n" + unique_name("x").split(".")[1]
    schema = {
        "type": "record", "name": "Order", "namespace": namespace,
        "fields": [{"name": "id", "type": "string"}],
    }  # fmt: skip
    v1 = tmp_path / "v1" / "Order.avsc"
    v1.parent.mkdir()
    v1.write_text(json.dumps(schema))
    assert hivebus("schemas", "register", str(v1), "--topic", topic).returncode == 0

    changed = {**schema, "fields": [*schema["fields"], {"name": "currency", "type": "string"}]}
    local = tmp_path / "local"
    local.mkdir()
    (local / "Order.v2.avsc").write_text(json.dumps(changed))
    checked = hivebus("schemas", "check", "--schemas", str(local))
    assert checked.returncode == 1
    assert f"INCOMPATIBLE {topic}-value" in checked.stdout
    assert "currency" in checked.stdout

    refused = hivebus("schemas", "register", str(local / "Order.v2.avsc"), "--topic", topic)
    assert refused.returncode == 1
    assert f"{topic}-value" in refused.stderr

    compatible = {
        **schema,
        "fields": [*schema["fields"], {"name": "note", "type": "string", "default": ""}],
    }
    (local / "Order.v2.avsc").write_text(json.dumps(compatible))
    assert hivebus("schemas", "check", "--schemas", str(local)).returncode == 0


async def test_agents_lists_a_running_agent_with_its_subscriptions(admin: AdminClient) -> None:
    source, output = topics(admin, "listed", partitions=1)
    agent = relay_agent(unique_name("listed"), source, output)
    async with running([agent]):
        listed = hivebus("agents")
    assert listed.returncode == 0, listed.stderr
    block = listed.stdout[listed.stdout.index(agent.name) :]
    assert "1 live instance(s)" in block.splitlines()[0]
    assert f"subscribes: {source}" in block
    assert "handles:    test.runtime.Ping" in block
    assert f"outputs:    {output}" in block
    after = hivebus("agents")
    assert agent.name not in after.stdout  # it announced "stopped" when it left


def test_run_passes_kafka_settings_through_and_names_a_bad_one(topic: str) -> None:
    relay = Path(__file__).parent / "agents" / "relay.py"
    env = {"RELAY_AGENT": unique_name("cfg"), "RELAY_SOURCE": topic, "RELAY_OUTPUT": topic + ".o"}
    good = ["--consumer-config", "max.poll.interval.ms=600000", "--producer-config", "acks=all"]
    refusals = [
        ("--producer-config", "linger.mss=1",
         "invalid producer setting 'linger.mss': No such configuration property"),
        ("--consumer-config", "fetch.wait.max.msx=5",
         "invalid consumer setting 'fetch.wait.max.msx': No such configuration property"),
        ("--producer-config", "linger.ms=abc",
         "invalid producer setting 'linger.ms': Invalid value"),
    ]  # fmt: skip
    for option, setting, sentence in refusals:
        bad = hivebus("run", str(relay), *good, option, setting, env=env)
        assert bad.returncode == 1, bad.stderr
        # One line and nothing else: no agent said to be running, no traceback, no raw repr.
        [line] = bad.stderr.strip().splitlines()
        assert line.startswith(f"hivebus: error: {sentence}"), line
        assert "KafkaError{" not in bad.stderr
        assert "Traceback" not in bad.stderr
        assert "running" not in bad.stderr + bad.stdout

    malformed = hivebus("run", str(relay), "--consumer-config", "session.timeout.ms", env=env)
    assert malformed.returncode == 2
    assert "expected KEY=VALUE, got 'session.timeout.ms'" in malformed.stderr
