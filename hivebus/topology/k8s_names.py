"""Kubernetes names for hivebus names: agents and topics may hold '.', '_' and capitals,
which object names refuse. The mapping is deterministic, so a re-render updates the same
objects; a name that had to change gets a short hash of the original, so `a.b` and `a_b` do
not collide on `a-b`. The real name always travels in an annotation or field beside it.
"""

from __future__ import annotations

import hashlib
import re

LABEL_MAX = 63  # DNS-1123 label: a Deployment's name ends up in its pods' labels
SUBDOMAIN_MAX = 253
_LABEL_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
_HASH = 6

AGENT_ANNOTATION = "hivebus.io/agent"
TOPOLOGY_ANNOTATION = "hivebus.io/topology"


def _suffix(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:_HASH]


def _fitted(name: str, cleaned: str, limit: int) -> str:
    """`cleaned` if it is `name` unchanged and short enough, else cut with a hash of `name`."""
    if cleaned == name and len(cleaned) <= limit:
        return cleaned
    head = cleaned[: limit - _HASH - 1].rstrip("-.") or "x"
    return f"{head}-{_suffix(name)}"


def dns_label(name: str) -> str:
    """A DNS-1123 label (Deployment, ScaledObject, ConfigMap names) for any hivebus name."""
    cleaned = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return _fitted(name, cleaned, LABEL_MAX)


def dns_subdomain(name: str) -> str:
    """A DNS-1123 subdomain (dots allowed: KafkaTopic names) for a Kafka topic name."""
    cleaned = re.sub(r"[^a-z0-9.]+", "-", name.lower())
    cleaned = re.sub(r"-*\.[-.]*", ".", cleaned).strip("-.")
    return _fitted(name, cleaned, SUBDOMAIN_MAX)


def label_value(name: str) -> str:
    """`name` itself where a label value may hold it, else its DNS label."""
    return name if len(name) <= LABEL_MAX and _LABEL_VALUE.match(name) else dns_label(name)


def is_dns_label(name: str) -> bool:
    return len(name) <= LABEL_MAX and bool(_LABEL_NAME.match(name))


def is_dns_subdomain(name: str) -> bool:
    return len(name) <= SUBDOMAIN_MAX and bool(_SUBDOMAIN.match(name))
