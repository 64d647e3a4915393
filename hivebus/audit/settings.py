"""Where the audit goes and for how long: read from the environment when a worker starts.

| variable | default | |
| --- | --- | --- |
| `HIVEBUS_AUDIT_TOPIC` | `hivebus.audit` | the audit events; blobs go to `<topic>.blobs` |
| `HIVEBUS_AUDIT_RETENTION_S` | 30 days | both topics' retention when created (-1: forever) |
| `HIVEBUS_AUDIT_PARTITIONS` | 6 | partitions of both, when created |
| `HIVEBUS_AUDIT_SAMPLE` | each agent's own | a fraction in [0, 1] for every agent |
| `HIVEBUS_AUDIT_BLOB_BYTES` | 256 KiB | the most a blob keeps; longer content is cut |
| `HIVEBUS_AUDIT_INLINE_BYTES` | 2 KiB | a step result longer than this goes to a blob |

A topic that exists already keeps its settings: change its retention with
`hivebus topology apply` (declare the topic in the topology) or the broker's tools.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hivebus.envvars import env, int_env
from hivebus.errors import ConfigError
from hivebus.kafka.admin import TopicSpec

TOPIC = "hivebus.audit"
DAY_S = 24 * 3600


@dataclass(frozen=True)
class AuditSettings:
    topic: str = TOPIC
    retention_s: int = 30 * DAY_S
    partitions: int = 6
    sample: float | None = None  # None: each agent's own
    blob_bytes: int = 256 * 1024
    inline_bytes: int = 2 * 1024

    @property
    def blob_topic(self) -> str:
        return f"{self.topic}.blobs"

    @classmethod
    def from_env(cls) -> AuditSettings:
        return cls(
            topic=env("HIVEBUS_AUDIT_TOPIC") or TOPIC,
            retention_s=int_env("HIVEBUS_AUDIT_RETENTION_S", 30 * DAY_S, -1, 10**11),
            partitions=int_env("HIVEBUS_AUDIT_PARTITIONS", 6, 1, 10_000),
            sample=_sample_env(),
            blob_bytes=int_env("HIVEBUS_AUDIT_BLOB_BYTES", 256 * 1024, 1024, 900 * 1024),
            inline_bytes=int_env("HIVEBUS_AUDIT_INLINE_BYTES", 2 * 1024, 0, 64 * 1024),
        )

    def topic_specs(self) -> list[TopicSpec]:
        """Both topics, deleting what is older than the retention (never compacted: the audit
        is a history, and a blob is kept exactly as long as the events that name it)."""
        retention = "-1" if self.retention_s < 0 else str(self.retention_s * 1000)
        config = {"cleanup.policy": "delete", "retention.ms": retention}
        return [
            TopicSpec(self.topic, partitions=self.partitions, config=config),
            TopicSpec(self.blob_topic, partitions=self.partitions, config=dict(config)),
        ]


def check_sample(sample: float, where: str = "Audit(sample=...)") -> float:
    if not (isinstance(sample, int | float) and math.isfinite(sample) and 0 <= sample <= 1):
        raise ConfigError(f"{where} must be a fraction between 0 and 1, got {sample!r}")
    return float(sample)


def _sample_env() -> float | None:
    raw = env("HIVEBUS_AUDIT_SAMPLE")
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"HIVEBUS_AUDIT_SAMPLE must be a number, got {raw!r}") from None
    return check_sample(value, "HIVEBUS_AUDIT_SAMPLE")
