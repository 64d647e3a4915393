"""What the cluster and the registry hold now, for the topics and subjects a topology names."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._config import ConfigResource
from confluent_kafka.admin._resource import ResourceType
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient, SchemaRegistryError

from hivebus.contracts.compat import NOT_FOUND, compatibility_level
from hivebus.contracts.outage import registry_call
from hivebus.errors import HivebusError

TIMEOUT_S = 15.0


@dataclass(frozen=True)
class LiveTopic:
    name: str
    partitions: int
    replication: int
    # Every config the broker reports for the topic, defaults included.
    configs: dict[str, str] = field(default_factory=dict)


def live_topics(admin: AdminClient, names: Iterable[str]) -> dict[str, LiveTopic]:
    """The topics among `names` that exist, with their partitions and configs."""
    try:
        metadata = admin.list_topics(timeout=TIMEOUT_S).topics
    except KafkaException as error:
        raise HivebusError(f"cannot read the cluster's topics: {error.args[0].str()}") from None
    present = [name for name in names if name in metadata]
    configs = _configs(admin, present)
    found = {}
    for name in present:
        partitions = metadata[name].partitions
        first = partitions.get(0)
        replication = len(first.replicas) if first is not None else 0
        found[name] = LiveTopic(name, len(partitions), replication, configs.get(name, {}))
    return found


def _configs(admin: AdminClient, names: list[str]) -> dict[str, dict[str, str]]:
    if not names:
        return {}
    resources = [ConfigResource(ResourceType.TOPIC, name) for name in names]
    found: dict[str, dict[str, str]] = {}
    for resource, future in admin.describe_configs(resources, request_timeout=TIMEOUT_S).items():
        try:
            entries = future.result(timeout=TIMEOUT_S)
        except KafkaException as error:
            raise HivebusError(
                f"cannot read the configs of topic {resource.name}: {error.args[0].str()}"
            ) from None
        found[resource.name] = {
            key: entry.value for key, entry in entries.items() if entry.value is not None
        }
    return found


@dataclass(frozen=True)
class LiveSubject:
    name: str
    exists: bool
    # The level in force: the subject's own, else the registry's global one.
    level: str


def live_subject(client: SchemaRegistryClient, subject: str) -> LiveSubject:
    with registry_call(client, f"reading subject '{subject}'"):
        try:
            client.get_versions(subject)
            exists = True
        except SchemaRegistryError as error:
            if error.http_status_code != NOT_FOUND:
                raise
            exists = False
        level = compatibility_level(client, subject)
    return LiveSubject(subject, exists, level)


def registered(client: SchemaRegistryClient, subject: str, schema_str: str) -> int | None:
    """The version `schema_str` has under `subject`, or None when it is not registered."""
    with registry_call(client, f"looking up a schema under '{subject}'"):
        try:
            found = client.lookup_schema(subject, Schema(schema_str, "AVRO"))
        except SchemaRegistryError as error:
            if error.http_status_code != NOT_FOUND:
                raise
            return None
    return int(found.version) if found.version is not None else None
