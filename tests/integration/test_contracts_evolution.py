"""Evolution checks against the real registry: its verdict, explained field by field."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient

from hivebus.contracts import (
    IncompatibleContract,
    check_compatibility,
    contract_from_dict,
    register,
    subject_for,
)
from hivebus.testing.stack import unique_name


def order_v1(namespace: str) -> dict[str, Any]:
    return {
        "type": "record",
        "name": "Order",
        "namespace": namespace,
        "fields": [
            {"name": "id", "type": "string"},
            {"name": "amount", "type": "double"},
            {"name": "note", "type": "string", "default": ""},
        ],
    }


def changed(schema: dict[str, Any], *, add: Any = None, drop: str | None = None) -> dict[str, Any]:
    schema = copy.deepcopy(schema)
    schema["fields"] = [f for f in schema["fields"] if f["name"] != drop]
    if add is not None:
        schema["fields"].append(add)
    return schema


@pytest.fixture
def namespace() -> str:
    """A record namespace of its own, so subjects left by other runs never match."""
    return f"hivebus.tests.evolution.n{uuid.uuid4().hex[:10]}"  # Avro names cannot start 0-9


@pytest.fixture
def topics(registry: SchemaRegistryClient) -> Iterator[list[str]]:
    """Topic names whose subjects are deleted after the test."""
    names: list[str] = []
    yield names
    for subject in registry.get_subjects():
        if any(subject.startswith(f"{name}-") for name in names):
            registry.delete_subject(subject)
            registry.delete_subject(subject, permanent=True)


def test_an_incompatible_local_change_is_flagged_with_the_field(
    registry: SchemaRegistryClient, namespace: str, topics: list[str]
) -> None:
    v1 = contract_from_dict(order_v1(namespace))
    topics += [unique_name("orders"), unique_name("mixed")]
    register(registry, v1, topics[0])
    register(registry, v1, topics[1], multi_type=True)

    breaking = changed(order_v1(namespace), add={"name": "currency", "type": "string"})
    breaking["fields"][1]["type"] = "string"  # amount: double -> string
    findings = check_compatibility(registry, [contract_from_dict(breaking)])

    assert {f.subject for f in findings} == {
        f"{topics[0]}-value",
        f"{topics[1]}-{namespace}.Order",
    }  # found by record name alone, whatever the subject strategy
    for finding in findings:
        assert not finding.compatible
        assert finding.level == "BACKWARD"
        assert finding.fullname == f"{namespace}.Order"
        assert finding.messages == [
            "field 'amount' changed type from double to string, which cannot read the double "
            "written before",
            "field 'currency' has no default, so records written before it cannot be read",
        ]


def test_a_compatible_change_passes_and_unregistered_contracts_have_no_finding(
    registry: SchemaRegistryClient, namespace: str, topics: list[str]
) -> None:
    topics.append(unique_name("orders"))
    register(registry, contract_from_dict(order_v1(namespace)), topics[0])
    compatible = changed(
        order_v1(namespace), add={"name": "currency", "type": "string", "default": "EUR"}
    )
    stranger = changed(order_v1(namespace + "_other"))

    findings = check_compatibility(
        registry, [contract_from_dict(compatible), contract_from_dict(stranger)]
    )
    assert [(f.subject, f.compatible, f.level, f.messages) for f in findings] == [
        (f"{topics[0]}-value", True, "BACKWARD", [])
    ]


def test_the_subjects_own_level_is_used(
    registry: SchemaRegistryClient, namespace: str, topics: list[str]
) -> None:
    topics.append(unique_name("orders"))
    subject = subject_for(topics[0], f"{namespace}.Order", multi_type=False)
    register(registry, contract_from_dict(order_v1(namespace)), topics[0])
    registry.set_compatibility(subject, "FORWARD")

    # Dropping `amount` (no default in v1) is fine BACKWARD but breaks FORWARD: old readers
    # need it. Adding a field without a default is the reverse.
    dropped = contract_from_dict(changed(order_v1(namespace), drop="amount"))
    added = contract_from_dict(
        changed(order_v1(namespace), add={"name": "currency", "type": "string"})
    )
    findings = check_compatibility(registry, [dropped, added])

    assert [(f.compatible, f.level) for f in findings] == [(False, "FORWARD"), (True, "FORWARD")]
    assert findings[0].messages == [
        "field 'amount' was removed, and the registered schema gives it no default, "
        "so its readers cannot read new records"
    ]


def test_register_returns_the_id_and_refuses_a_breaking_change_naming_the_field(
    registry: SchemaRegistryClient, namespace: str, topics: list[str]
) -> None:
    topics.append(unique_name("orders"))
    v1 = contract_from_dict(order_v1(namespace))
    schema_id = register(registry, v1, topics[0])
    assert schema_id >= 1
    assert register(registry, v1, topics[0]) == schema_id  # idempotent

    breaking = contract_from_dict(
        changed(order_v1(namespace), add={"name": "currency", "type": "string"})
    )
    with pytest.raises(IncompatibleContract) as refused:
        register(registry, breaking, topics[0])
    error = refused.value
    assert error.subject == f"{topics[0]}-value"
    assert error.level == "BACKWARD"
    assert error.reasons == [
        "field 'currency' has no default, so records written before it cannot be read"
    ]
    assert f"subject '{topics[0]}-value'" in str(error)
    assert registry.get_versions(f"{topics[0]}-value") == [1]
