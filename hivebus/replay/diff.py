"""The diff of a replay: each input's new outputs against the outputs the live agent wrote.

Pure logic, no Kafka. Outputs are compared as decoded Avro values (plain dicts in their
writer's schema) with their topic and key. Per input and topic, outputs are paired: equal ones
first (same), then the rest in order (changed, with the fields that differ); an output left
over is new (only the new version wrote it) or missing (only the live agent did).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

SAME, CHANGED, NEW, MISSING = "same", "changed", "new", "missing"
KINDS = (SAME, CHANGED, NEW, MISSING)
_ABSENT = "<absent>"  # a field or list item one side does not have


@dataclass(frozen=True)
class InputRef:
    """A replayed input: `id` is what its outputs name as their cause (`ce_causationid`)."""

    id: str
    topic: str
    partition: int
    offset: int
    key: str | None
    # handled, skipped (no handler), dead-lettered, cancelled; for a durable run that did not
    # complete, suspended (it waits for a signal or a long sleep) or parked
    outcome: str = "handled"

    @property
    def where(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"


@dataclass(frozen=True)
class Output:
    """An output as the diff sees it; `topic` is always the live topic's name."""

    topic: str
    key: str | None
    type: str
    value: Any
    id: str | None = None  # its ce_id
    where: str | None = None  # topic[partition]@offset it was read from or written to

    def same_as(self, other: Output) -> bool:
        return (self.key, self.type, self.value) == (other.key, other.type, other.value)


@dataclass(frozen=True)
class FieldChange:
    path: str  # "risk", "reasons[1]", "<key>", "<type>"
    old: Any
    new: Any


@dataclass(frozen=True)
class Entry:
    kind: str
    input: InputRef
    topic: str
    old: Output | None
    new: Output | None
    changes: tuple[FieldChange, ...] = ()


@dataclass
class Diff:
    entries: list[Entry] = field(default_factory=list)

    def of(self, kind: str) -> list[Entry]:
        return [entry for entry in self.entries if entry.kind == kind]

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(KINDS, 0)
        for entry in self.entries:
            counts[entry.kind] += 1
        return counts

    @property
    def differing_inputs(self) -> list[InputRef]:
        """Inputs with at least one output changed, new or missing, in input order."""
        seen: dict[str, InputRef] = {}
        for entry in self.entries:
            if entry.kind != SAME:
                seen.setdefault(entry.input.id, entry.input)
        return list(seen.values())


def compare(
    inputs: Sequence[InputRef],
    old: Mapping[str, Sequence[Output]],
    new: Mapping[str, Sequence[Output]],
) -> Diff:
    """The diff of the outputs of each input (`old` and `new` map an input id to its outputs)."""
    diff = Diff()
    for item in inputs:
        before, after = old.get(item.id, ()), new.get(item.id, ())
        for topic in dict.fromkeys([o.topic for o in before] + [o.topic for o in after]):
            diff.entries += _pair(
                item, topic, [o for o in before if o.topic == topic],
                [o for o in after if o.topic == topic],
            )  # fmt: skip
    return diff


def _pair(item: InputRef, topic: str, before: list[Output], after: list[Output]) -> list[Entry]:
    entries: list[Entry] = []
    left = list(before)
    unmatched: list[Output] = []
    for output in after:
        twin = next((o for o in left if o.same_as(output)), None)
        if twin is None:
            unmatched.append(output)
            continue
        left.remove(twin)
        entries.append(Entry(SAME, item, topic, twin, output))
    for output in list(unmatched):  # same type first, then anything, in order
        twin = next((o for o in left if o.type == output.type), left[0] if left else None)
        if twin is None:
            break
        left.remove(twin)
        unmatched.remove(output)
        entries.append(Entry(CHANGED, item, topic, twin, output, tuple(changes(twin, output))))
    entries += [Entry(NEW, item, topic, None, output) for output in unmatched]
    entries += [Entry(MISSING, item, topic, output, None) for output in left]
    return entries


def changes(old: Output, new: Output) -> list[FieldChange]:
    """The differences between two outputs: key, type, then each field that differs."""
    found = []
    if old.key != new.key:
        found.append(FieldChange("<key>", old.key, new.key))
    if old.type != new.type:
        found.append(FieldChange("<type>", old.type, new.type))
    found += field_changes(old.value, new.value)
    return found


def field_changes(old: Any, new: Any, path: str = "") -> list[FieldChange]:
    """Field-level differences of two decoded values, by path (`a.b`, `items[2]`); a field or
    item only one side has shows `<absent>` on the other."""
    if isinstance(old, dict) and isinstance(new, dict):
        found: list[FieldChange] = []
        for name in _names(old, new):
            sub = f"{path}.{name}" if path else str(name)
            found += field_changes(old.get(name, _ABSENT), new.get(name, _ABSENT), sub)
        return found
    if isinstance(old, list) and isinstance(new, list):
        found = []
        for i in range(max(len(old), len(new))):
            found += field_changes(
                old[i] if i < len(old) else _ABSENT, new[i] if i < len(new) else _ABSENT,
                f"{path}[{i}]",
            )  # fmt: skip
        return found
    if old == new:
        return []
    return [FieldChange(path or "<value>", old, new)]


def _names(old: dict[str, Any], new: dict[str, Any]) -> Iterable[str]:
    return list(old) + [name for name in new if name not in old]
