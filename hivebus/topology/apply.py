"""Making a plan's changes: validated by the broker first, then made in dependency order.

Topics are created and grown before subjects are registered, levels are set before the
schemas they judge. The broker checks every topic creation and config change with
`validate_only` before any is made, so a name or setting it refuses stops the whole apply
with nothing changed. Every step is idempotent: a second apply of the same file plans nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._config import AlterConfigOpType, ConfigEntry, ConfigResource
from confluent_kafka.admin._resource import ResourceType
from confluent_kafka.cimpl import NewPartitions, NewTopic
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from hivebus.contracts.outage import registry_call
from hivebus.errors import HivebusError
from hivebus.topology.plan import Change, Plan

TIMEOUT_S = 30.0
ORDER = ["create_topic", "add_partitions", "alter_config", "set_compatibility", "register_schema"]


class RefusedPlan(HivebusError):
    """A plan apply will not start: it has problems, or destroys data without permission."""


def apply_plan(
    plan: Plan, admin: AdminClient, registry: SchemaRegistryClient, *,
    allow_destroy: bool = False, say: Callable[[str], None] = print,
) -> int:  # fmt: skip
    """Make every change of `plan`; returns how many were made."""
    if plan.problems:
        raise RefusedPlan(
            f"not applying: the plan has {len(plan.problems)} problem(s); nothing was changed"
        )
    if plan.destructive and not allow_destroy:
        listed = "; ".join(f"{c.target}: {c.summary}" for c in plan.destructive)
        raise RefusedPlan(
            f"not applying: {listed} would delete data; pass --allow-destroy to allow it "
            "(nothing was changed)"
        )
    changes = sorted(plan.changes, key=lambda change: ORDER.index(change.kind))
    _validate(admin, changes)
    for change in changes:
        _make(change, admin, registry)
        say(f"  {change.symbol} {change.target}: {change.summary} ... done")
    return len(changes)


def _validate(admin: AdminClient, changes: list[Change]) -> None:
    """Ask the broker to judge every topic change without making it."""
    creations = [_new_topic(c) for c in changes if c.kind == "create_topic"]
    if creations:
        futures = admin.create_topics(creations, validate_only=True, operation_timeout=TIMEOUT_S)
        _settle(futures, "the broker refuses to create topic")
    alters = _config_resources([c for c in changes if c.kind == "alter_config"])
    if alters:
        _settle(
            admin.incremental_alter_configs(alters, validate_only=True),
            "the broker refuses the config of topic",
        )


def _make(change: Change, admin: AdminClient, registry: SchemaRegistryClient) -> None:
    if change.kind == "create_topic":
        created = admin.create_topics([_new_topic(change)], operation_timeout=TIMEOUT_S)
        _settle(created, "could not create topic", exists_ok=True)
    elif change.kind == "add_partitions":
        grown = admin.create_partitions([NewPartitions(change.target, change.partitions)])
        _settle(grown, "could not add partitions to topic")
    elif change.kind == "alter_config":
        altered = admin.incremental_alter_configs(_config_resources([change]))
        _settle(altered, "could not change the config of topic")
    elif change.kind == "set_compatibility":
        with registry_call(registry, f"setting the compatibility of '{change.target}'"):
            registry.set_compatibility(change.target, change.level)
    elif change.kind == "register_schema":
        with registry_call(registry, f"registering a schema under '{change.target}'"):
            registry.register_schema(change.target, Schema(change.schema_str, "AVRO"))


def _new_topic(change: Change) -> NewTopic:
    assert change.topic is not None
    topic = change.topic
    return NewTopic(
        change.target, num_partitions=topic.partitions, replication_factor=topic.replication,
        config=topic.configs(),
    )  # fmt: skip


def _config_resources(changes: list[Change]) -> list[ConfigResource]:
    by_topic: dict[str, dict[str, str]] = {}
    for change in changes:
        by_topic.setdefault(change.target, {}).update(change.configs)
    return [
        ConfigResource(
            ResourceType.TOPIC,
            topic,
            incremental_configs=[
                ConfigEntry(key, value, incremental_operation=AlterConfigOpType.SET)
                for key, value in configs.items()
            ],
        )
        for topic, configs in by_topic.items()
    ]


def _settle(futures: Mapping[Any, Future[Any]], failure: str, *, exists_ok: bool = False) -> None:
    for key, future in futures.items():
        name = getattr(key, "name", key)
        try:
            future.result(timeout=TIMEOUT_S)
        except KafkaException as error:
            kafka_error = error.args[0]
            if exists_ok and kafka_error.name() == "TOPIC_ALREADY_EXISTS":
                continue
            raise HivebusError(f"{failure} {name}: {kafka_error.str()}") from None
