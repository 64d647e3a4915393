"""`check_compatibility`: would the local contracts be accepted by the registry, and if not, why.

Subjects are found by the record full name of their latest schema, so no mapping file from
contracts to topics is needed: every subject that carries a contract's record is checked.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from confluent_kafka.schema_registry import SchemaRegistryClient, SchemaRegistryError

from hivebus.contracts.compat import NOT_FOUND, compatibility_level, reasons, registry_accepts
from hivebus.contracts.contract import Contract
from hivebus.contracts.subjects import all_subjects


@dataclass(frozen=True)
class Finding:
    """The verdict for one (contract, subject) pair; `messages` say why when incompatible."""

    subject: str
    fullname: str
    compatible: bool
    level: str
    messages: list[str] = field(default_factory=list)


def check_compatibility(
    client: SchemaRegistryClient, contracts: Iterable[Contract]
) -> list[Finding]:
    """A finding per registry subject that carries one of `contracts` (unregistered: none)."""
    subjects = subjects_by_fullname(client)
    return [
        check_subject(client, contract, subject)
        for contract in contracts
        for subject in subjects.get(contract.fullname, [])
    ]


def check_subject(client: SchemaRegistryClient, contract: Contract, subject: str) -> Finding:
    """The registry's verdict on `contract` for `subject`, explained field by field."""
    level = compatibility_level(client, subject)
    if registry_accepts(client, contract.schema_str, subject, level):
        return Finding(subject, contract.fullname, True, level)
    messages = reasons(client, contract.schema_str, subject, level) or [
        f"the registry refuses it under {level}, but no field-level reason was found locally"
    ]
    return Finding(subject, contract.fullname, False, level, messages)


def subjects_by_fullname(client: SchemaRegistryClient) -> dict[str, list[str]]:
    """Registry subjects grouped by the record full name of their latest Avro schema."""
    index: dict[str, list[str]] = {}
    for subject in all_subjects(client):
        try:
            latest = client.get_latest_version(subject)
        except SchemaRegistryError as exc:
            if exc.http_status_code == NOT_FOUND:  # deleted while we listed
                continue
            raise
        avro = (latest.schema.schema_type or "AVRO") == "AVRO"
        if avro and (name := record_fullname(latest.schema.schema_str or "")):
            index.setdefault(name, []).append(subject)
    return index


def record_fullname(schema_str: str) -> str | None:
    """`namespace.name` of an Avro record schema given as JSON text, else None."""
    try:
        schema = json.loads(schema_str)
    except json.JSONDecodeError:
        return None
    if not isinstance(schema, dict) or schema.get("type") != "record" or "name" not in schema:
        return None
    name, namespace = str(schema["name"]), schema.get("namespace")
    return name if "." in name or not namespace else f"{namespace}.{name}"
