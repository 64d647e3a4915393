"""A contract: one Avro record schema, loaded once and kept in every form the layer needs.

Files in `schemas/` may carry a version, `<name>.v<N>.avsc`; a file without one counts as
version 1. Versions are grouped by the record's full name (what the file says, not what it is
called), so renaming a file never splits a contract's history.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import avro.schema
import fastavro

from hivebus.contracts.errors import ContractError

_VERSIONED = re.compile(r"\.v(\d+)$")


@dataclass(frozen=True)
class Contract:
    """One Avro record schema; `fullname` is also the CloudEvents `ce_type` of its events."""

    fullname: str
    schema: dict[str, Any]
    schema_str: str
    parsed: Any
    path: Path | None = None


def contract_from_dict(schema: dict[str, Any], *, path: Path | None = None) -> Contract:
    """Parse an Avro record schema given as JSON data; `path` only improves error messages."""
    where = str(path) if path else "the schema"
    if not isinstance(schema, dict) or schema.get("type") != "record":
        found = schema.get("type") if isinstance(schema, dict) else type(schema).__name__
        raise ContractError(f"{where}: the top-level schema must be an Avro record, not {found!r}")
    # Compact JSON, so whitespace edits in a file never look like a new schema to the registry.
    text = json.dumps(schema, separators=(",", ":"))
    try:
        parsed: Any = fastavro.parse_schema(schema)
        # fastavro is lenient about names; the reference parser is what registries apply.
        avro.schema.parse(text)
    except Exception as exc:  # both parsers raise several unrelated types for bad schemas
        raise ContractError(f"{where}: not a valid Avro schema: {exc}") from exc
    return Contract(parsed["name"], schema, text, parsed, path)


def load_contract(path: Path | str) -> Contract:
    """Load one `.avsc` file; every failure names the file and what is wrong with it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ContractError(f"cannot read contract {path}: {exc.strerror or exc}") from exc
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ContractError(
            f"{path} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    return contract_from_dict(schema, path=path)


def contract_versions(folder: Path | str) -> dict[str, list[Contract]]:
    """Every contract below `folder`, by full name, oldest version first."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ContractError(f"contract folder {folder} does not exist")
    found: dict[str, dict[int, Contract]] = {}
    for path in sorted(folder.rglob("*.avsc")):
        contract = load_contract(path)
        version = file_version(path)
        versions = found.setdefault(contract.fullname, {})
        if version in versions:
            raise ContractError(
                f"{path} and {versions[version].path} are both version {version} of "
                f"{contract.fullname}; number them <name>.v<N>.avsc"
            )
        versions[version] = contract
    return {name: [v[n] for n in sorted(v)] for name, v in sorted(found.items())}


def load_contracts(folder: Path | str) -> dict[str, Contract]:
    """The newest version of every contract below `folder`, by full name."""
    return {name: versions[-1] for name, versions in contract_versions(folder).items()}


def file_version(path: Path) -> int:
    """`orders.v3.avsc` -> 3; an unnumbered file is version 1."""
    match = _VERSIONED.search(Path(path.name).stem)
    return int(match.group(1)) if match else 1
