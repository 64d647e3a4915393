"""The topology file's model: topics, contracts and agents, validated field by field.

Every model forbids unknown fields, so a typo (`partitons: 6`) is an error naming the field
rather than a setting silently ignored. Paths in the file are relative to the file's folder.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

# Kafka's own rule for topic names (kafka.common.internals.Topic): 1-249 of these characters.
_TOPIC = re.compile(r"^[A-Za-z0-9._-]{1,249}$")
_AGENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")
_DURATION = re.compile(r"^(?P<n>\d+)\s*(?P<unit>ms|s|m|h|d|w)$")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_QUANTITY = re.compile(r"^\d+(\.\d+)?(m|k|Ki|Mi|Gi|Ti|M|G|T)?$")

Setting = str | int | float | bool
Cleanup = Literal["delete", "compact", "compact,delete"]
Compatibility = Literal[
    "BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE",
    "FULL", "FULL_TRANSITIVE", "NONE",
]  # fmt: skip
Guarantee = Literal["at_least_once", "exactly_once"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def check_topic_name(name: str) -> str:
    """Kafka's rule, told in a sentence (the broker's own refusal comes later and vaguer)."""
    if name in (".", "..") or not _TOPIC.match(name):
        raise ValueError(
            f"{name!r} is not a topic name Kafka accepts: 1-249 characters of letters, digits, "
            "'.', '_' and '-', and not '.' or '..'"
        )
    return name


def retention_ms(value: str | int) -> int:
    """`7d`, `12h`, `30m`, `500ms`, a number of milliseconds, or `forever` (-1)."""
    if isinstance(value, int):
        if value < -1:
            raise ValueError(f"retention must be -1 (forever) or more, got {value}")
        return value
    text = value.strip().lower()
    if text in ("forever", "-1", "infinite"):
        return -1
    if text.isdigit():
        return int(text)
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"retention {value!r} is not a duration like 7d, 12h, 30m or forever")
    return int(match.group("n")) * _UNIT_MS[match.group("unit")]


def check_agent_name(name: str) -> str:
    if not _AGENT.match(name):
        raise ValueError(
            f"agent name {name!r} must be letters, digits, '.', '_' or '-' (it is the consumer "
            "group id)"
        )
    return name


TopicName = Annotated[str, AfterValidator(check_topic_name)]
AgentName = Annotated[str, AfterValidator(check_agent_name)]


class Topic(Strict):
    """A topic the topology owns: created by apply, partitions grown, configs kept in line."""

    partitions: int = Field(3, ge=1, le=100_000)
    # -1: the broker's default.replication.factor.
    replication: int = Field(-1, ge=-1, le=32)
    retention: str | int | None = None
    cleanup: Cleanup | None = None
    # Several event types on one topic: subjects `<topic>-<record name>`
    # (TopicRecordNameStrategy) instead of `<topic>-value`.
    multi_type: bool = False
    config: dict[str, str] = Field(default_factory=dict)
    description: str = ""

    @field_validator("replication")
    @classmethod
    def _replication(cls, value: int) -> int:
        if value == 0:
            raise ValueError("replication must be 1 or more, or -1 for the broker's default")
        return value

    @field_validator("retention")
    @classmethod
    def _retention(cls, value: str | int | None) -> str | int | None:
        if value is not None:
            retention_ms(value)
        return value

    @field_validator("config")
    @classmethod
    def _config(cls, value: dict[str, str]) -> dict[str, str]:
        for key in ("retention.ms", "cleanup.policy"):
            if key in value:
                short = "retention" if key == "retention.ms" else "cleanup"
                raise ValueError(f"set {key} with the topic's `{short}` field, not in config")
        return {key: str(setting) for key, setting in value.items()}

    def configs(self) -> dict[str, str]:
        """The topic configs this declaration pins (anything unset is the broker's default)."""
        pinned = dict(self.config)
        if self.retention is not None:
            pinned["retention.ms"] = str(retention_ms(self.retention))
        if self.cleanup is not None:
            pinned["cleanup.policy"] = self.cleanup
        return pinned


class Contract(Strict):
    """An Avro contract and the topics it is written to: one registry subject per topic."""

    schema_: str = Field(alias="schema")
    topics: list[TopicName] = Field(min_length=1)
    # The subject's compatibility level; unset: the registry's global level (BACKWARD).
    compatibility: Compatibility | None = None


class Resources(Strict):
    """Kubernetes-style quantities for the agent's container (`500m` CPU, `256Mi` memory)."""

    cpu: str | None = None
    memory: str | None = None
    cpu_limit: str | None = None
    memory_limit: str | None = None

    @field_validator("cpu", "memory", "cpu_limit", "memory_limit")
    @classmethod
    def _quantity(cls, value: str | None) -> str | None:
        if value is not None and not _QUANTITY.match(str(value)):
            raise ValueError(f"{value!r} is not a quantity like 500m, 2, 256Mi or 1Gi")
        return value


class Scaling(Strict):
    """Lag autoscaling (KEDA's Kafka scaler): replicas between the bounds, one per `lag`."""

    min_replicas: int = Field(1, ge=0)
    max_replicas: int = Field(10, ge=1)
    lag: int = Field(100, ge=1)

    @model_validator(mode="after")
    def _bounds(self) -> Scaling:
        if self.max_replicas < self.min_replicas:
            raise ValueError(
                f"max_replicas ({self.max_replicas}) is below min_replicas ({self.min_replicas})"
            )
        return self


class AgentEntry(Strict):
    """An agent to run: where its code is, and the settings the topology gives it."""

    # `path/to/file.py` or `package.module`, with `:variable` to pick one Agent.
    module: str
    replicas: int = Field(1, ge=0, le=1000)
    max_in_flight: int | None = Field(None, ge=1)
    guarantee: Guarantee | None = None
    durable: bool | None = None
    consumer: dict[str, Setting] = Field(default_factory=dict)
    producer: dict[str, Setting] = Field(default_factory=dict)
    resources: Resources = Field(default_factory=Resources)
    scaling: Scaling | None = None
    env: dict[str, str] = Field(default_factory=dict)
    # Checked against the code: the topology must not promise what the agent does not do.
    subscribes: list[str] | None = None
    publishes: list[str] | None = None
    metrics_port: int = Field(9464, ge=1, le=65535)
    description: str = ""


class Topology(Strict):
    """One `topology/*.yaml`: the topics, contracts and agents of a system."""

    name: Annotated[str, Field(pattern=_AGENT.pattern)]
    description: str = ""
    topics: dict[TopicName, Topic] = Field(default_factory=dict)
    contracts: list[Contract] = Field(default_factory=list)
    agents: dict[AgentName, AgentEntry] = Field(default_factory=dict)

    @field_validator("topics")
    @classmethod
    def _topic_names(cls, value: dict[str, Topic]) -> dict[str, Topic]:
        collide: dict[str, str] = {}
        for name in value:
            # Kafka refuses topics whose names differ only by '.' versus '_' (metric names).
            folded = name.replace(".", "_")
            if folded in collide:
                raise ValueError(
                    f"topics {collide[folded]!r} and {name!r} collide: Kafka treats '.' and '_' "
                    "alike in metric names and refuses the second"
                )
            collide[folded] = name
        return value
