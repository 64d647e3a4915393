"""Dropping a replay's shadow: its topics, and the registry subjects their outputs made."""

from __future__ import annotations

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient

from hivebus.contracts.subjects import all_subjects
from hivebus.errors import HivebusError
from hivebus.replay.names import ShadowNames


def drop_shadow(
    admin: AdminClient, registry: SchemaRegistryClient, names: ShadowNames, timeout_s: float = 30
) -> tuple[list[str], list[str]]:
    """Delete the replay's shadow topics and subjects; returns the names deleted."""
    topics = sorted(t for t in admin.list_topics(timeout=timeout_s).topics if names.owns(t))
    if topics:
        for topic, future in admin.delete_topics(topics, operation_timeout=timeout_s).items():
            try:
                future.result(timeout=timeout_s)
            except KafkaException as error:
                raise HivebusError(f"could not delete {topic}: {error.args[0].str()}") from None
    subjects = sorted(s for s in all_subjects(registry) if s.startswith(names.prefix))
    for subject in subjects:
        registry.delete_subject(subject)
        registry.delete_subject(subject, permanent=True)
    return topics, subjects
