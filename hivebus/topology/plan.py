"""The difference between a topology and the live cluster and registry, as a list of changes.

Nothing here writes. A change is something `apply` can make; a problem is something it must
not try (partitions cannot shrink, a contract the registry would refuse): a plan with problems
applies nothing at all, so a topology is never applied half-way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient

from hivebus.contracts import Contract as AvroContract
from hivebus.contracts import subject_for
from hivebus.contracts.compat import directions, reasons, registry_accepts
from hivebus.contracts.explain import explain
from hivebus.topology.live import LiveTopic, live_subject, live_topics, registered
from hivebus.topology.load import Loaded
from hivebus.topology.model import Topic

Kind = Literal[
    "create_topic", "add_partitions", "alter_config", "set_compatibility", "register_schema"
]  # fmt: skip
SYMBOL = {"create_topic": "+", "register_schema": "+"}


@dataclass(frozen=True)
class Change:
    kind: Kind
    target: str  # a topic or a subject
    summary: str
    destructive: bool = False
    # What apply needs: the topic declaration, the config to set, the schema to register...
    topic: Topic | None = None
    partitions: int = 0
    configs: dict[str, str] = field(default_factory=dict)
    level: str = ""
    schema_str: str = ""

    @property
    def symbol(self) -> str:
        return SYMBOL.get(self.kind, "~")


@dataclass(frozen=True)
class Problem:
    target: str
    message: str


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def destructive(self) -> list[Change]:
        return [change for change in self.changes if change.destructive]


def make_plan(loaded: Loaded, admin: AdminClient, registry: SchemaRegistryClient) -> Plan:
    """Compare `loaded` with what the cluster and registry hold now."""
    plan = Plan()
    declared = loaded.topology.topics
    live = live_topics(admin, declared)
    for name, topic in declared.items():
        _plan_topic(plan, name, topic, live.get(name))
    _plan_contracts(plan, loaded, registry)
    return plan


def _plan_topic(plan: Plan, name: str, topic: Topic, live: LiveTopic | None) -> None:
    pinned = topic.configs()
    if live is None:
        settings = "".join(f", {key}={value}" for key, value in sorted(pinned.items()))
        plan.changes.append(
            Change("create_topic", name, f"create: {topic.partitions} partitions{settings}",
                   topic=topic)
        )  # fmt: skip
        return
    if topic.partitions < live.partitions:
        plan.problems.append(
            Problem(name, f"partitions decreased from {live.partitions} to {topic.partitions}: "
                          "Kafka cannot remove partitions (recreate the topic, or keep "
                          f"{live.partitions})")
        )  # fmt: skip
    elif topic.partitions > live.partitions:
        plan.changes.append(
            Change("add_partitions", name,
                   f"partitions {live.partitions} -> {topic.partitions} (keys move to new "
                   "partitions: per-key order holds only for events written after)",
                   partitions=topic.partitions)
        )  # fmt: skip
    if topic.replication > 0 and live.replication and topic.replication != live.replication:
        plan.problems.append(
            Problem(name, f"replication {live.replication} -> {topic.replication}: apply does "
                          "not move replicas; use kafka-reassign-partitions")
        )  # fmt: skip
    for key, value in sorted(pinned.items()):
        current = live.configs.get(key)
        if current == value:
            continue
        plan.changes.append(
            Change("alter_config", name, f"config {key} {current} -> {value}",
                   destructive=_loses_data(key, current, value), configs={key: value})
        )  # fmt: skip


def _loses_data(key: str, current: str | None, wanted: str) -> bool:
    """Shorter retention deletes events now; leaving compaction deletes old keys' events."""
    if key == "retention.ms" and current is not None:
        old, new = int(current), int(wanted)
        return new != -1 and (old == -1 or new < old)
    if key == "cleanup.policy" and current is not None:
        return "compact" in current and "delete" in wanted
    return False


def _plan_contracts(plan: Plan, loaded: Loaded, registry: SchemaRegistryClient) -> None:
    """Per subject, the declared versions in file order: those after the last one already
    registered are registered in turn, each checked against the one before it."""
    declared: dict[str, list[tuple[str | None, AvroContract, int]]] = {}
    pairs = zip(loaded.topology.contracts, loaded.contracts, strict=True)
    for index, (entry, contract) in enumerate(pairs):
        for topic in entry.topics:
            multi = loaded.topology.topics[topic].multi_type
            subject = subject_for(topic, contract.fullname, multi_type=multi)
            declared.setdefault(subject, []).append((entry.compatibility, contract, index))
    for subject, versions in declared.items():
        live = live_subject(registry, subject)
        wanted = next((level for level, _, _ in reversed(versions) if level), None)
        level = wanted or live.level
        if wanted and wanted != live.level:
            plan.changes.append(
                Change("set_compatibility", subject, f"compatibility {live.level} -> {wanted}",
                       level=wanted)
            )  # fmt: skip
        newest_known = -1
        if live.exists:
            for position, (_, contract, _) in enumerate(versions):
                if registered(registry, subject, contract.schema_str) is not None:
                    newest_known = position
        # Older versions than one registered are history: registering them now would make
        # an old schema the subject's latest.
        earlier: list[str] = []
        for _, contract, index in versions[newest_known + 1 :]:
            why = _refusals(registry, subject, live.exists, earlier, contract.schema_str, level)
            if why:
                where = loaded.source.where(("contracts", index, "schema"))
                plan.problems.append(
                    Problem(subject, f"{contract.fullname} ({where}) is incompatible under "
                                     f"{level}: " + "; ".join(why))
                )  # fmt: skip
                break
            where = contract.path.name if contract.path else contract.fullname
            plan.changes.append(
                Change("register_schema", subject, f"register {contract.fullname} ({where})",
                       schema_str=contract.schema_str)
            )  # fmt: skip
            earlier.append(contract.schema_str)


def _refusals(
    registry: SchemaRegistryClient, subject: str, exists: bool, earlier: list[str],
    schema_str: str, level: str,
) -> list[str]:  # fmt: skip
    """Why `schema_str` would be refused under `level` ([] when it would be accepted)."""
    if earlier:  # the subject's latest will be a version this plan registers first
        previous = earlier if level.endswith("_TRANSITIVE") else earlier[-1:]
        found: list[str] = []
        for theirs in previous:
            for direction in directions(level):
                reader, writer = (
                    (schema_str, theirs) if direction == "BACKWARD" else (theirs, schema_str)
                )
                found += [r for r in explain(reader, writer, direction) if r not in found]
        if found or not exists:
            return found
    if not exists:
        return []
    if registry_accepts(registry, schema_str, subject, level):
        return []
    return reasons(registry, schema_str, subject, level) or [
        f"the registry refuses it under {level}"
    ]
