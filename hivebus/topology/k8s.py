"""Kubernetes manifests for a topology: the same file that plans topics and runs agents
deploys them, so a new agent in `topology/*.yaml` is a new Deployment with nothing else to
write. Rendering is offline: it imports the agents (to learn the topics each reads) but talks
to no cluster.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml

from hivebus.errors import HivebusError
from hivebus.topology.k8s_names import (
    AGENT_ANNOTATION,
    TOPOLOGY_ANNOTATION,
    dns_label,
    dns_subdomain,
    label_value,
)
from hivebus.topology.k8s_scaling import kafka_topic, scaled_object
from hivebus.topology.k8s_workloads import (
    CREDENTIALS_SECRET,
    DRAIN_GRACE_S,
    config_map,
    deployment,
)
from hivebus.topology.load import Loaded
from hivebus.topology.wiring import Wired

Manifest = dict[str, Any]

# Strimzi's own default names: a Kafka called my-cluster serves on this bootstrap Service.
DEFAULT_BOOTSTRAP = "my-cluster-kafka-bootstrap:9092"
DEFAULT_REGISTRY = "http://schema-registry:8081"
DEFAULT_CLUSTER = "my-cluster"
MANAGED_BY = "hivebus"


@dataclass(frozen=True)
class _Target:
    """What every object of one render shares."""

    topology: str
    namespace: str
    common: dict[str, str]
    image: str
    path: str
    config_name: str
    bootstrap: str
    keda_auth: str | None
    secret: str


def render_k8s(
    loaded: Loaded,
    wired: list[Wired],
    *,
    image: str,
    namespace: str,
    topology_path_in_image: str,
    strimzi: bool = False,
    bootstrap: str = DEFAULT_BOOTSTRAP,
    registry: str = DEFAULT_REGISTRY,
    strimzi_cluster: str = DEFAULT_CLUSTER,
    keda_auth: str | None = None,
    credentials_secret: str = CREDENTIALS_SECRET,
) -> list[Manifest]:
    """The ConfigMap, then (with `strimzi`) a KafkaTopic per declared topic, then per agent a
    Deployment and, where the topology sets `scaling`, a KEDA ScaledObject.

    `topology_path_in_image` is where the container finds this topology file; `keda_auth`
    names a user-made KEDA TriggerAuthentication for a cluster that needs SASL or TLS.
    """
    topology = loaded.topology.name
    common = {
        "app.kubernetes.io/part-of": label_value(topology),
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }
    target = _Target(
        topology, namespace, common, image, topology_path_in_image,
        f"{dns_label(topology)[:57].rstrip('-')}-kafka", bootstrap, keda_auth,
        credentials_secret,
    )  # fmt: skip
    _check_unique(wired)
    out = [
        config_map(target.config_name, namespace, common, bootstrap=bootstrap, registry=registry)
    ]
    if strimzi:
        for topic, declared in loaded.topology.topics.items():
            out.append(
                kafka_topic(
                    name=dns_subdomain(topic),
                    topic=topic,
                    declared=declared,
                    namespace=namespace,
                    cluster=strimzi_cluster,
                    labels=common,
                )
            )
    for one in wired:
        out.extend(_agent(one, target))
    return out


def _agent(one: Wired, target: _Target) -> list[Manifest]:
    name = dns_label(one.name)
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/component": "agent"}
    labels |= target.common
    command = [
        "hivebus", "run", target.path, "--agent", one.name,
        "--metrics-port", str(one.entry.metrics_port), "--grace", f"{DRAIN_GRACE_S:g}",
    ]  # fmt: skip
    made = [
        deployment(
            name=name,
            agent=one.name,
            topology=target.topology,
            namespace=target.namespace,
            labels=labels,
            entry=one.entry,
            image=target.image,
            command=command,
            config_name=target.config_name,
            credentials_secret=target.secret,
        )
    ]
    if one.entry.scaling is not None:
        if not one.reads:
            raise HivebusError(
                f"agent {one.name!r} sets scaling but reads no declared topic, so there is no "
                "lag to scale on: declare the topics it subscribes to, or drop scaling"
            )
        made.append(
            scaled_object(
                name=name,
                namespace=target.namespace,
                labels=labels,
                annotations={AGENT_ANNOTATION: one.name, TOPOLOGY_ANNOTATION: target.topology},
                scaling=one.entry.scaling,
                group=consumer_group(one),
                topics=one.reads,
                bootstrap=target.bootstrap,
                auth=target.keda_auth,
            )
        )
    return made


def consumer_group(one: Wired) -> str:
    """The agent's name, unless the topology's consumer settings override `group.id`."""
    return str(one.agent.consumer_config.get("group.id", one.name))


def _check_unique(wired: Iterable[Wired]) -> None:
    seen: dict[str, str] = {}
    for one in wired:
        name = dns_label(one.name)
        if name in seen:  # only a hash collision could do it; refuse rather than overwrite
            raise HivebusError(
                f"agents {seen[name]!r} and {one.name!r} map to the same Kubernetes name {name!r}"
            )
        seen[name] = one.name


class _Plain(yaml.SafeDumper):
    """No `&id001` anchors where two objects share a dict (a Deployment's labels)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def to_yaml(manifests: Iterable[Manifest]) -> str:
    """Multi-document YAML, keys in the order written (apiVersion, kind, metadata, spec)."""
    return "---\n".join(
        yaml.dump(m, Dumper=_Plain, sort_keys=False, default_flow_style=False) for m in manifests
    )


def file_name(index: int, manifest: Manifest) -> str:
    """`03-deployment-fraud-detector.yaml`: numbered, so `kubectl apply -f DIR` keeps order."""
    return f"{index:02d}-{manifest['kind'].lower()}-{manifest['metadata']['name']}.yaml"
