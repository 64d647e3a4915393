"""`hivebus topology plan|apply` on the real broker and registry, as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._config import ConfigResource
from confluent_kafka.admin._resource import ResourceType
from confluent_kafka.schema_registry import SchemaRegistryClient

from hivebus.cli import main
from hivebus.dev import Endpoints
from hivebus.testing.stack import unique_name

DAY_MS = 86_400_000


def schema(folder: Path, namespace: str, version: int, extra_field: dict[str, object] | None):
    fields: list[dict[str, object]] = [
        {"name": "id", "type": "string"},
        {"name": "amount", "type": "double"},
    ]
    if extra_field:
        fields.append(extra_field)
    path = folder / f"Order.v{version}.avsc"
    path.write_text(json.dumps({"type": "record", "name": "Order", "namespace": namespace,
                                "fields": fields}))  # fmt: skip
    return path


class System:
    """A topology file with unique topic and record names, rewritten by each test step."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.prefix = unique_name("topo").replace(".", "_")
        self.orders = f"{self.prefix}.orders"
        self.audit = f"{self.prefix}.audit"
        self.namespace = f"test.n{self.prefix.split('_')[-1]}"
        self.path = folder / "system.yaml"
        schema(folder, self.namespace, 1, None)

    def write(self, *, partitions: int = 1, retention: str = "7d", audit: bool = True,
              contract_version: int = 1, extra: str = "") -> Path:  # fmt: skip
        audit_topic = f"\n  {self.audit}: {{partitions: 1, cleanup: compact}}" if audit else ""
        self.path.write_text(
            f"name: {self.prefix}\n"
            "topics:\n"
            f"  {self.orders}: {{partitions: {partitions}, retention: {retention}}}"
            f"{audit_topic}{extra}\n"
            "contracts:\n"
            "  - schema: Order.v1.avsc\n"
            f"    topics: [{self.orders}]\n"
            "    compatibility: BACKWARD\n"
        )
        if contract_version > 1:
            with self.path.open("a") as out:
                out.write(f"  - schema: Order.v{contract_version}.avsc\n"
                          f"    topics: [{self.orders}]\n")  # fmt: skip
        return self.path


def run(*args: str) -> int:
    return main(["topology", *args])


def topic_config(admin: AdminClient, topic: str, key: str) -> str:
    resource = ConfigResource(ResourceType.TOPIC, topic)
    entries = admin.describe_configs([resource])[resource].result(timeout=30)
    return str(entries[key].value)


def partitions(admin: AdminClient, topic: str) -> int:
    return len(admin.list_topics(topic, timeout=30).topics[topic].partitions)


def test_plan_apply_and_a_second_plan_that_finds_nothing(
    stack: Endpoints, admin: AdminClient, registry: SchemaRegistryClient, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    system = System(tmp_path)
    path = system.write()

    assert run("plan", str(path)) == 2
    planned = capsys.readouterr().out
    assert f"+ topic   {system.orders}" in planned
    assert f"+ topic   {system.audit}" in planned
    assert f"+ subject {system.orders}-value" in planned
    assert system.orders not in admin.list_topics(timeout=30).topics  # plan wrote nothing

    assert run("apply", str(path)) == 0
    assert partitions(admin, system.orders) == 1
    assert topic_config(admin, system.orders, "retention.ms") == str(7 * DAY_MS)
    assert topic_config(admin, system.audit, "cleanup.policy") == "compact"
    assert registry.get_latest_version(f"{system.orders}-value").schema.schema_str is not None
    capsys.readouterr()

    assert run("plan", str(path)) == 0
    assert "No changes" in capsys.readouterr().out
    assert run("apply", str(path)) == 0  # idempotent
    assert "No changes" in capsys.readouterr().out


def test_growing_partitions_and_retention_then_a_destructive_change_needs_permission(
    stack: Endpoints, admin: AdminClient, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    system = System(tmp_path)
    assert run("apply", str(system.write())) == 0

    grown = system.write(partitions=4, retention="14d")
    assert run("plan", str(grown)) == 2
    planned = capsys.readouterr().out
    assert f"~ topic   {system.orders}" in planned and "partitions 1 -> 4" in planned
    assert f"retention.ms {7 * DAY_MS} -> {14 * DAY_MS}" in planned
    assert run("apply", str(grown)) == 0
    assert partitions(admin, system.orders) == 4
    assert topic_config(admin, system.orders, "retention.ms") == str(14 * DAY_MS)

    shorter = system.write(partitions=4, retention="1d")
    assert run("apply", str(shorter)) == 1
    assert topic_config(admin, system.orders, "retention.ms") == str(14 * DAY_MS)
    assert "destroys data" in capsys.readouterr().out
    assert run("apply", str(shorter), "--allow-destroy") == 0
    assert topic_config(admin, system.orders, "retention.ms") == str(DAY_MS)


def test_fewer_partitions_is_a_problem_and_nothing_of_the_plan_is_applied(
    stack: Endpoints, admin: AdminClient, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    system = System(tmp_path)
    assert run("apply", str(system.write(partitions=3, audit=False))) == 0
    capsys.readouterr()

    shrunk = system.write(partitions=2, audit=True)
    assert run("plan", str(shrunk)) == 1
    assert "partitions decreased from 3 to 2" in capsys.readouterr().out
    assert run("apply", str(shrunk)) == 1
    # The audit topic was a valid addition in the same plan: not created either.
    assert system.audit not in admin.list_topics(timeout=30).topics
    assert partitions(admin, system.orders) == 3


def test_an_incompatible_contract_names_the_field_and_applies_nothing(
    stack: Endpoints, admin: AdminClient, registry: SchemaRegistryClient, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    system = System(tmp_path)
    assert run("apply", str(system.write(audit=False))) == 0
    capsys.readouterr()
    # A new required field without a default: v2 readers cannot read v1 events (BACKWARD).
    schema(tmp_path, system.namespace, 2, {"name": "currency", "type": "string"})

    breaking = system.write(audit=True, contract_version=2)
    assert run("plan", str(breaking)) == 1
    out = capsys.readouterr().out
    assert f"! problem {system.orders}-value" in out and "currency" in out
    assert run("apply", str(breaking)) == 1
    assert system.audit not in admin.list_topics(timeout=30).topics
    assert len(registry.get_versions(f"{system.orders}-value")) == 1

    # With a default the same change is compatible, and v2 becomes the subject's latest.
    schema(tmp_path, system.namespace, 2, {"name": "currency", "type": "string", "default": "EUR"})
    assert run("apply", str(breaking)) == 0
    latest = registry.get_latest_version(f"{system.orders}-value")
    assert "currency" in (latest.schema.schema_str or "")


def test_a_config_the_broker_refuses_stops_the_apply_before_any_change(
    stack: Endpoints, admin: AdminClient, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    system = System(tmp_path)
    bad = f"\n  {system.prefix}.bad: {{partitions: 1, config: {{max.message.bytes: '-5'}}}}"
    path = system.write(extra=bad)
    assert run("apply", str(path)) == 1
    err = capsys.readouterr().err
    assert f"{system.prefix}.bad" in err
    topics = admin.list_topics(timeout=30).topics
    assert system.orders not in topics and system.audit not in topics
