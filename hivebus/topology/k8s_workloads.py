"""The Deployment of one agent and the ConfigMap its pods read the cluster's address from.

Each agent gets its own Deployment so it scales, rolls out and fails on its own: an agent is
a consumer group, and its replicas split the partitions of the topics it reads.
"""

from __future__ import annotations

import math
from typing import Any

from hivebus.contracts.endpoints import REGISTRY_ENV
from hivebus.kafka.endpoints import BOOTSTRAP_ENV
from hivebus.topology.k8s_names import AGENT_ANNOTATION, TOPOLOGY_ANNOTATION
from hivebus.topology.model import AgentEntry

Manifest = dict[str, Any]

# `hivebus run --grace`: how long in-flight work may finish after SIGTERM. The pod gets this
# plus a margin for committing offsets, leaving the group and announcing "stopped".
DRAIN_GRACE_S = 15.0
SHUTDOWN_MARGIN_S = 15
CREDENTIALS_SECRET = "hivebus-credentials"
# Any non-root uid works: the image's files are world-readable; a numeric uid lets the
# kubelet prove runAsNonRoot without reading the image's USER.
RUN_AS_UID = 10001


def config_map(name: str, namespace: str, labels: dict[str, str], *, bootstrap: str,
               registry: str) -> Manifest:  # fmt: skip
    """Where Kafka and the registry are, for every agent of the topology (no secrets here)."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "data": {BOOTSTRAP_ENV: bootstrap, REGISTRY_ENV: registry},
    }


def deployment(
    *,
    name: str,
    agent: str,
    topology: str,
    namespace: str,
    labels: dict[str, str],
    entry: AgentEntry,
    image: str,
    command: list[str],
    config_name: str,
    credentials_secret: str = CREDENTIALS_SECRET,
) -> Manifest:
    """A Deployment running `command` (one agent's worker) with probes on its metrics port.

    With `scaling` the replica count is left out, so that `kubectl apply` does not fight the
    HPA that KEDA drives.
    """
    selector = {key: labels[key] for key in ("app.kubernetes.io/name", "app.kubernetes.io/part-of")}
    annotations = {AGENT_ANNOTATION: agent, TOPOLOGY_ANNOTATION: topology}
    spec: Manifest = {
        "selector": {"matchLabels": selector},
        # A new pod joins the group before an old one leaves: no gap in consumption.
        "strategy": {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
        },
        "template": {
            "metadata": {"labels": labels, "annotations": {**annotations, **_scrape(entry)}},
            "spec": _pod(entry, image, command, config_name, credentials_secret),
        },
    }
    if entry.scaling is None:
        spec = {"replicas": entry.replicas, **spec}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name, "namespace": namespace, "labels": labels, "annotations": annotations,
        },
        "spec": spec,
    }  # fmt: skip


def _scrape(entry: AgentEntry) -> dict[str, str]:
    """The annotations a Prometheus with the usual pod-scraping job looks for."""
    return {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(entry.metrics_port),
        "prometheus.io/path": "/metrics",
    }


def _pod(entry: AgentEntry, image: str, command: list[str], config_name: str,
         credentials_secret: str) -> Manifest:  # fmt: skip
    container: Manifest = {
        "name": "agent",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": command,
        "ports": [{"name": "metrics", "containerPort": entry.metrics_port, "protocol": "TCP"}],
        "envFrom": [
            {"configMapRef": {"name": config_name}},
            # User-made; absent on a cluster without SASL or registry auth, hence optional.
            {"secretRef": {"name": credentials_secret, "optional": True}},
        ],
        "env": _env(entry),
        # /healthz: the consumer threads run (else restart); /readyz: joined the group and
        # the broker and registry answer (gates a rolling update).
        "livenessProbe": _probe("/healthz", period=10, failures=3, initial=10),
        "readinessProbe": _probe("/readyz", period=5, failures=3, initial=5),
        "securityContext": {
            "runAsNonRoot": True,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    resources = _resources(entry)
    if resources:
        container["resources"] = resources
    return {
        "terminationGracePeriodSeconds": math.ceil(DRAIN_GRACE_S) + SHUTDOWN_MARGIN_S,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS_UID,
            "runAsGroup": RUN_AS_UID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
        # The root filesystem is read-only; anything that needs scratch space gets /tmp.
        "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
    }


def _probe(path: str, *, period: int, failures: int, initial: int) -> Manifest:
    return {
        "httpGet": {"path": path, "port": "metrics"},
        "initialDelaySeconds": initial,
        "periodSeconds": period,
        "timeoutSeconds": 3,
        "failureThreshold": failures,
    }


def _env(entry: AgentEntry) -> list[Manifest]:
    # No .pyc writes onto the read-only filesystem; logs unbuffered for `kubectl logs`.
    env = {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1", **entry.env}
    return [{"name": key, "value": str(value)} for key, value in env.items()]


def _resources(entry: AgentEntry) -> Manifest:
    wanted = entry.resources
    requests = {k: v for k, v in (("cpu", wanted.cpu), ("memory", wanted.memory)) if v}
    limits = {k: v for k, v in (("cpu", wanted.cpu_limit), ("memory", wanted.memory_limit)) if v}
    out: Manifest = {}
    if requests:
        out["requests"] = requests
    if limits:
        out["limits"] = limits
    return out
