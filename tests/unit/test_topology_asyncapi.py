"""The AsyncAPI export: valid against the official AsyncAPI 3.0.0 JSON schema, and true to the
topology (channels, messages and each agent's operations)."""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from hivebus.cli.topology_export import register
from hivebus.topology import load_topology, wire
from hivebus.topology.asyncapi import AVRO_FORMAT, asyncapi_document, render
from tests.unit.test_topology_graph import write_shop

ROOT = Path(__file__).resolve().parents[2]
PAYMENTS = ROOT / "topology" / "payments.yaml"
# The AsyncAPI initiative's own schemas, as its tools use them; pinned so a new release
# cannot change what "valid" means under a passing test.
SPECS = "@asyncapi/specs@6.11.1"
MEMBER = "package/schemas/3.0.0-without-$id.json"
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hivebus"
Document = dict[str, Any]


@pytest.fixture(scope="session")
def validator() -> jsonschema.Draft7Validator:
    """The AsyncAPI 3.0.0 schema from npm, fetched once and kept in ~/.cache/hivebus."""
    cached = CACHE / "asyncapi-specs" / f"{SPECS.rsplit('@', 1)[1]}-3.0.0.json"
    if not cached.exists():
        npm = shutil.which("npm")
        # Failing, not skipping: an unvalidated export must not pass for a validated one.
        assert npm is not None, f"npm is needed once to fetch {SPECS} (the AsyncAPI schema)"
        with tempfile.TemporaryDirectory() as folder:
            subprocess.run(
                [npm, "pack", SPECS, "--pack-destination", folder, "--silent"],
                check=True, capture_output=True, timeout=300,
            )  # fmt: skip
            (archive_path,) = Path(folder).glob("*.tgz")
            with tarfile.open(archive_path) as archive:
                member = archive.extractfile(MEMBER)
                assert member is not None, f"{SPECS} has no {MEMBER}"
                data = member.read()
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(".partial")
        partial.write_bytes(data)
        partial.replace(cached)
    schema = json.loads(cached.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(
        schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )


def problems(validator: jsonschema.Draft7Validator, document: Document) -> list[str]:
    """Each error as `path: message`, at the deepest place it names (inside oneOf/anyOf)."""
    found = []
    for error in validator.iter_errors(document):
        deepest = jsonschema.exceptions.best_match([error]) or error
        found.append(f"{'/'.join(map(str, deepest.absolute_path))}: {deepest.message[:200]}")
    return sorted(found)


@pytest.fixture(scope="module")
def payments() -> Document:
    loaded = load_topology(PAYMENTS)
    return asyncapi_document(loaded, wire(loaded), server="broker-1:9092")


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Document:
    loaded = load_topology(write_shop(tmp_path_factory.mktemp("asyncapi") / "shop"))
    return asyncapi_document(loaded, wire(loaded))


def resolve(document: Document, reference: str) -> Any:
    """Follow a local `$ref` (JSON Pointer), failing if it points nowhere."""
    assert reference.startswith("#/"), reference
    node: Any = document
    for part in reference[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"{reference} points nowhere"
        node = node[part]
    if isinstance(node, dict) and set(node) == {"$ref"}:
        return resolve(document, node["$ref"])  # a channel's message is a component's
    return node


def references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from references(value)
    elif isinstance(node, list):
        for value in node:
            yield from references(value)


def operations_of(document: Document, agent: str, action: str) -> list[Document]:
    return [
        op for key, op in document["operations"].items()
        if key.startswith(f"{agent}.{action}.") and op["action"] == action
    ]  # fmt: skip


def channel_of(document: Document, operation: Document) -> str:
    address: str = resolve(document, operation["channel"]["$ref"])["address"]
    return address


def message_names(document: Document, operation: Document) -> set[str]:
    return {resolve(document, m["$ref"])["name"] for m in operation.get("messages", [])}


@pytest.mark.parametrize("which", ["payments", "shop"])
def test_the_export_is_valid_asyncapi_3(
    which: str, validator: jsonschema.Draft7Validator, request: pytest.FixtureRequest
) -> None:
    document = request.getfixturevalue(which)
    assert document["asyncapi"] == "3.0.0"
    assert problems(validator, document) == []


FLAGGED = "hivebus.examples.payments.FlaggedTransaction"
CARD_READ = "fraud-detector.receive.transactions.card"


def _set(path: str, value: Any) -> Callable[[Document], None]:
    def change(document: Document) -> None:
        *parents, last = path.split("/")
        node = document
        for part in parents:
            node = node[part]
        node[last] = value

    return change


def _drop_version(document: Document) -> None:
    del document["info"]["version"]


# Each is invalid AsyncAPI 3.0.0, and the schema must say so at that place.
BREAKAGES: dict[str, tuple[Callable[[Document], None], str]] = {
    "no info.version": (_drop_version, "info"),
    "2.x action": (_set(f"operations/{CARD_READ}/action", "publish"), f"operations/{CARD_READ}"),
    "no partitions": (
        _set("channels/transactions.card/bindings/kafka/partitions", 0),
        "channels/transactions.card/bindings/kafka/partitions",
    ),
    "groupId not a schema": (
        _set(f"operations/{CARD_READ}/bindings/kafka/groupId", "fraud-detector"),
        f"operations/{CARD_READ}/bindings/kafka/groupId",
    ),
    "payload not Avro": (
        _set(f"components/messages/{FLAGGED}/payload/schema/type", "recordd"),
        f"components/messages/{FLAGGED}/payload",
    ),
    "unknown channel field": (
        _set("channels/transactions.wire/topic", "transactions.wire"),
        "channels/transactions.wire",
    ),
}


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_the_validator_rejects_a_broken_document(
    breakage: str, payments: Document, validator: jsonschema.Draft7Validator
) -> None:
    """Proof the schema check is live, and that it looks where the document broke."""
    broken = copy.deepcopy(payments)
    change, where = BREAKAGES[breakage]
    change(broken)
    found = problems(validator, broken)
    assert found, f"{breakage} was accepted"
    assert all(problem.startswith(where) for problem in found), found


@pytest.mark.parametrize("which", ["payments", "shop"])
def test_every_reference_resolves(which: str, request: pytest.FixtureRequest) -> None:
    """The JSON schema does not follow `$ref`s; a dangling one would still pass it."""
    document = request.getfixturevalue(which)
    found = list(references(document))
    assert found
    for reference in found:
        resolve(document, reference)


@pytest.mark.parametrize("which", ["payments", "shop"])
def test_operations_list_only_their_own_channels_messages(
    which: str, request: pytest.FixtureRequest
) -> None:
    """AsyncAPI 3 requires an operation's messages to be a subset of its channel's."""
    document = request.getfixturevalue(which)
    for key, operation in document["operations"].items():
        channel = operation["channel"]["$ref"]
        for message in operation.get("messages", []):
            assert message["$ref"].startswith(f"{channel}/messages/"), key


def test_every_declared_topic_is_a_channel(payments: Document) -> None:
    declared = load_topology(PAYMENTS).topology.topics
    addresses = [channel["address"] for channel in payments["channels"].values()]
    assert sorted(addresses) == sorted(declared)
    card = payments["channels"]["transactions.card"]["bindings"]["kafka"]
    assert card["partitions"] == declared["transactions.card"].partitions == 3
    assert card["topicConfiguration"]["retention.ms"] == 7 * 24 * 3600 * 1000


def test_fraud_detector_receives_card_and_wire_not_its_own_output(payments: Document) -> None:
    receives = operations_of(payments, "fraud-detector", "receive")
    assert sorted(channel_of(payments, op) for op in receives) == [
        "transactions.card",
        "transactions.wire",
    ]
    for operation in receives:
        assert message_names(payments, operation) == {"hivebus.examples.payments.Transaction"}
        # v1 and v2 are both still written: the agent reads both.
        assert len(operation["messages"]) == 2
        assert operation["x-hivebus-subscriptions"] == ["transactions.*"]


@pytest.mark.parametrize("which", ["payments", "shop"])
def test_receive_group_is_the_agent_and_sends_go_where_it_writes(
    which: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    document = request.getfixturevalue(which)
    path = PAYMENTS if which == "payments" else write_shop(tmp_path / "shop")
    for agent in wire(load_topology(path)):
        for operation in operations_of(document, agent.name, "receive"):
            group = operation["bindings"]["kafka"]["groupId"]
            assert group == {"type": "string", "enum": [agent.name]}
            assert channel_of(document, operation) in agent.reads
        sends = operations_of(document, agent.name, "send")
        assert sorted(channel_of(document, op) for op in sends) == sorted(agent.writes)
        assert all("bindings" not in op for op in sends)


def test_messages_carry_the_avro_contract_headers_and_key(payments: Document) -> None:
    messages = payments["components"]["messages"]
    v1 = messages["hivebus.examples.payments.Transaction.v1"]
    v2 = messages["hivebus.examples.payments.Transaction.v2"]
    on_disk = json.loads((ROOT / "schemas/payments/Transaction.v2.avsc").read_text())
    assert v2["payload"] == {"schemaFormat": AVRO_FORMAT, "schema": on_disk}
    assert "device_id" not in {f["name"] for f in v1["payload"]["schema"]["fields"]}
    for key, message in messages.items():
        assert message["contentType"] == "application/avro"
        headers = message["headers"]["properties"]
        assert headers["ce_type"]["const"] == message["name"], key
        assert headers["ce_specversion"]["const"] == "1.0"
        assert {"ce_id", "ce_source", "ce_time"} <= set(headers)
        assert message["bindings"]["kafka"]["key"]["type"] == "string"
        assert message["bindings"]["kafka"]["schemaLookupStrategy"] == "TopicNameStrategy"


def test_a_multi_type_topic_and_a_partial_reader(shop: Document) -> None:
    events = shop["channels"]["order.events"]
    names = {resolve(shop, m["$ref"])["name"] for m in events["messages"].values()}
    assert names == {"acme.orders.Shipped", "acme.orders.Cancelled"}
    for message in events["messages"].values():
        binding = resolve(shop, message["$ref"])["bindings"]["kafka"]
        assert binding["schemaLookupStrategy"] == "TopicRecordNameStrategy"
    (send,) = operations_of(shop, "order-router", "send")
    assert message_names(shop, send) == names
    (receive,) = operations_of(shop, "auditor", "receive")
    assert message_names(shop, receive) == {"acme.orders.Shipped"}
    # The router's pattern reads both regional topics; the watcher's matches none.
    routed = operations_of(shop, "order-router", "receive")
    assert sorted(channel_of(shop, op) for op in routed) == ["orders.eu", "orders.us-east"]
    assert operations_of(shop, "tenant_watcher", "receive") == []
    config = events["bindings"]["kafka"]["topicConfiguration"]
    assert config == {"cleanup.policy": ["compact", "delete"], "retention.ms": 2 * 86_400_000}
    dead = shop["channels"]["dead-letters"]
    assert dead["messages"] == {}
    assert dead["bindings"]["kafka"]["topicConfiguration"] == {"max.message.bytes": 2097152}
    assert shop["channels"]["orders.us-east"]["bindings"]["kafka"]["replicas"] == 3


def test_the_server_comes_from_the_argument_or_the_environment(
    payments: Document, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert payments["servers"]["kafka"]["host"] == "broker-1:9092"
    assert payments["servers"]["kafka"]["protocol"] == "kafka"
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "a:9092,b:9093")
    loaded = load_topology(PAYMENTS)
    servers = asyncapi_document(loaded, wire(loaded))["servers"]
    assert [s["host"] for s in servers.values()] == ["a:9092", "b:9093"]


def test_info_version_follows_the_api(payments: Document, tmp_path: Path) -> None:
    loaded = load_topology(PAYMENTS)
    again = asyncapi_document(loaded, wire(loaded), server="elsewhere:9092")
    assert again["info"]["version"] == payments["info"]["version"]  # servers are not the API
    assert payments["info"]["title"] == "payments"
    shop = load_topology(write_shop(tmp_path / "shop"))
    assert asyncapi_document(shop, wire(shop))["info"]["version"] != payments["info"]["version"]
    pinned = asyncapi_document(loaded, wire(loaded), version="2.1.0")
    assert pinned["info"]["version"] == "2.1.0"


def test_yaml_and_json_render_the_same_document(payments: Document) -> None:
    text = render(payments, "yaml")
    assert "&id" not in text and "*id" not in text  # no YAML anchors for shared parts
    assert yaml.safe_load(text) == payments
    assert json.loads(render(payments, "json")) == payments


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="hivebus topology")
    register(parser.add_subparsers(dest="action", required=True))
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code


def test_the_export_command_writes_a_valid_file(
    tmp_path: Path, validator: jsonschema.Draft7Validator, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "api" / "payments.json"
    assert _cli(["export", "asyncapi", str(PAYMENTS), "-o", str(target), "--server", "k:1"]) == 0
    document = json.loads(target.read_text())  # .json chose JSON
    assert document["servers"]["kafka"]["host"] == "k:1"
    assert problems(validator, document) == []
    assert _cli(["export", "asyncapi", str(PAYMENTS), "--api-version", "1.2.3"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["info"]["version"] == "1.2.3"
    assert problems(validator, printed) == []
