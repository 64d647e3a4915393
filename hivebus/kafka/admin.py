"""Topic administration: create what is missing, leave what exists alone."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import confluent_kafka.admin as admin_api
from confluent_kafka import KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from hivebus.errors import HivebusError
from hivebus.kafka.connection import connection_settings


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int = 3
    replication: int = -1  # the broker's default.replication.factor
    config: dict[str, str] = field(default_factory=dict)


def admin_client(bootstrap: str | None = None) -> AdminClient:
    """An admin client with the shared connection configuration (TLS, SASL included)."""
    config: dict[str, Any] = dict(connection_settings("admin"))
    if bootstrap:
        config["bootstrap.servers"] = bootstrap
    return AdminClient(config)


def ensure_topics(
    admin: AdminClient, specs: Iterable[TopicSpec], timeout_s: float = 30
) -> list[str]:
    """Create the topics that do not exist yet; returns the names created."""
    wanted = {spec.name: spec for spec in specs}
    existing = admin.list_topics(timeout=timeout_s).topics
    missing = [spec for name, spec in wanted.items() if name not in existing]
    if not missing:
        return []
    futures = admin.create_topics(
        [
            NewTopic(
                s.name,
                num_partitions=s.partitions,
                replication_factor=s.replication,
                config=s.config,
            )
            for s in missing
        ],
        operation_timeout=timeout_s,
    )
    created = []
    for name, future in futures.items():
        try:
            future.result(timeout=timeout_s)
            created.append(name)
        except KafkaException as error:
            if error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise HivebusError(
                    f"could not create topic {name}: {error.args[0].str()}"
                ) from None
    return created


def end_offsets(
    admin: AdminClient, partitions: Iterable[tuple[str, int]], timeout_s: float
) -> dict[tuple[str, int], int]:
    """The end (high watermark) offset of each partition; unknown partitions are left out."""
    latest = admin_api.OffsetSpec.latest()  # type: ignore[attr-defined,no-untyped-call]
    return _list_offsets(admin, partitions, latest, timeout_s)


def start_offsets(
    admin: AdminClient, partitions: Iterable[tuple[str, int]], timeout_s: float
) -> dict[tuple[str, int], int]:
    """The first offset still kept in each partition (retention moves it); unknown partitions
    are left out."""
    earliest = admin_api.OffsetSpec.earliest()  # type: ignore[attr-defined,no-untyped-call]
    return _list_offsets(admin, partitions, earliest, timeout_s)


def _list_offsets(
    admin: AdminClient, partitions: Iterable[tuple[str, int]], spec: Any, timeout_s: float
) -> dict[tuple[str, int], int]:
    wanted = {TopicPartition(topic, number): spec for topic, number in partitions}
    if not wanted:
        return {}
    found = {}
    for tp, future in admin.list_offsets(wanted, request_timeout=timeout_s).items():
        try:
            found[(tp.topic, tp.partition)] = int(future.result(timeout=timeout_s).offset)
        except Exception:  # one unknown partition must not hide the others
            continue
    return found
