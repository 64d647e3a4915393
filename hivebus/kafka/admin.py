"""Topic administration: create what is missing, leave what exists alone."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from hivebus.errors import HivebusError
from hivebus.kafka.endpoints import bootstrap_servers


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int = 3
    replication: int = -1  # the broker's default.replication.factor
    config: dict[str, str] = field(default_factory=dict)


def admin_client(bootstrap: str | None = None) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap or bootstrap_servers()})


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
