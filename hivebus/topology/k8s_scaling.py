"""Lag autoscaling with KEDA's Kafka scaler, and Strimzi `KafkaTopic`s for declared topics.

KEDA reads the consumer group's lag on each topic the agent reads and sizes the Deployment
to one replica per `scaling.lag` events behind (the highest of the triggers wins).
"""

from __future__ import annotations

from typing import Any

from hivebus.topology.model import Scaling, Topic

Manifest = dict[str, Any]


def scaled_object(
    *,
    name: str,
    namespace: str,
    labels: dict[str, str],
    annotations: dict[str, str],
    scaling: Scaling,
    group: str,
    topics: list[str],
    bootstrap: str,
    auth: str | None = None,
) -> Manifest:
    """A ScaledObject for the Deployment `name`: one `kafka` trigger per topic in `topics`.

    KEDA caps each trigger at its topic's partition count; an agent reading several topics
    can use one replica per partition of all of them, so there `maxReplicaCount` is the cap.
    """
    triggers = []
    for topic in topics:
        trigger: Manifest = {
            "type": "kafka",
            "metadata": {
                "bootstrapServers": bootstrap,
                "consumerGroup": group,
                "topic": topic,
                "lagThreshold": str(scaling.lag),
                # A group with no committed offset starts at the beginning (hivebus's
                # auto.offset.reset), so all of the topic counts as lag.
                "offsetResetPolicy": "earliest",
            },
        }
        if len(topics) > 1:
            trigger["metadata"]["allowIdleConsumers"] = "true"
        if auth:
            trigger["authenticationRef"] = {"name": auth}
        triggers.append(trigger)
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {
            "name": name, "namespace": namespace, "labels": labels, "annotations": annotations,
        },
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicaCount": scaling.min_replicas,
            "maxReplicaCount": scaling.max_replicas,
            "triggers": triggers,
        },
    }  # fmt: skip


def kafka_topic(
    *, name: str, topic: str, declared: Topic, namespace: str, cluster: str,
    labels: dict[str, str],
) -> Manifest:  # fmt: skip
    """A Strimzi KafkaTopic; `topicName` carries the real name, which `name` may have altered."""
    spec: Manifest = {"topicName": topic, "partitions": declared.partitions}
    if declared.replication != -1:  # absent: the broker's default.replication.factor
        spec["replicas"] = declared.replication
    configs = declared.configs()
    if configs:
        spec["config"] = configs
    return {
        "apiVersion": "kafka.strimzi.io/v1beta2",
        "kind": "KafkaTopic",
        "metadata": {
            "name": name,
            "namespace": namespace,
            # The Topic Operator only manages topics labelled with its Kafka cluster.
            "labels": {**labels, "strimzi.io/cluster": cluster},
        },
        "spec": spec,
    }
