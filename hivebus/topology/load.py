"""Loading `topology/*.yaml` into a validated `Topology`, every error placed in the file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from hivebus.contracts import Contract as AvroContract
from hivebus.contracts import ContractError, load_contract
from hivebus.topology.model import Topology
from hivebus.topology.source import Location, Source, TopologyError, read_source

MAX_LISTED = 8


@dataclass(frozen=True)
class Loaded:
    """A validated topology with where it came from, and its contracts parsed."""

    topology: Topology
    source: Source
    # One Avro contract per entry of `topology.contracts`, in the same order.
    contracts: list[AvroContract]

    @property
    def folder(self) -> Path:
        """Relative paths in the file (modules, schemas) start here."""
        return self.source.path.parent

    def resolve(self, relative: str) -> Path:
        return (self.folder / relative).resolve()


def load_topology(path: Path | str) -> Loaded:
    """Read, validate and check the references of one topology file.

    Raises `TopologyError` naming the file, line and field of every problem found.
    """
    source = read_source(Path(path))
    if not isinstance(source.data, dict):
        raise source.error((), "a topology is a mapping with name, topics, contracts, agents")
    try:
        topology = Topology.model_validate(source.data)
    except ValidationError as error:
        raise _placed(source, error) from None
    loaded = Loaded(topology, source, _contracts(source, topology))
    _check_references(loaded)
    return loaded


def _placed(source: Source, error: ValidationError) -> TopologyError:
    problems = []
    for detail in error.errors()[:MAX_LISTED]:
        location: Location = tuple(
            part
            for part in detail["loc"]
            if not str(part).startswith("function-") and part != "[key]"
        )
        message = detail["msg"].removeprefix("Value error, ")
        if detail["type"] == "extra_forbidden":
            message = "unknown field (check its spelling against docs/topology.md)"
        elif detail["type"] == "missing":
            message = "required field is missing"
        problems.append(f"{source.where(location)}: {message}")
    more = len(error.errors()) - MAX_LISTED
    if more > 0:
        problems.append(f"... and {more} more")
    return TopologyError("\n".join(problems))


def _contracts(source: Source, topology: Topology) -> list[AvroContract]:
    found = []
    folder = source.path.parent
    for index, entry in enumerate(topology.contracts):
        try:
            found.append(load_contract(folder / entry.schema_))
        except ContractError as error:
            raise source.error(("contracts", index, "schema"), str(error)) from None
    return found


def _check_references(loaded: Loaded) -> None:
    """Contracts name declared topics; multi-type topics get distinct record names."""
    topology, source = loaded.topology, loaded.source
    for index, entry in enumerate(topology.contracts):
        for position, topic in enumerate(entry.topics):
            if topic not in topology.topics:
                raise source.error(
                    ("contracts", index, "topics", position),
                    f"topic {topic!r} is not declared under topics",
                )
    per_topic: dict[str, set[str]] = {}
    for index, (entry, contract) in enumerate(
        zip(topology.contracts, loaded.contracts, strict=True)
    ):
        for topic in entry.topics:
            names = per_topic.setdefault(topic, set())
            names.add(contract.fullname)
            if len(names) > 1 and not topology.topics[topic].multi_type:
                raise source.error(
                    ("contracts", index, "topics"),
                    f"topic {topic!r} carries {' and '.join(sorted(names))}: declare it "
                    "`multi_type: true` (one subject per record type)",
                )
