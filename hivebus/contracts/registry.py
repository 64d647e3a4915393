"""The schema registry client and registration of contracts under their subjects."""

from __future__ import annotations

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient, SchemaRegistryError

from hivebus.contracts.compat import NOT_FOUND, compatibility_level, reasons
from hivebus.contracts.contract import Contract
from hivebus.contracts.endpoints import registry_url
from hivebus.contracts.errors import ContractError, IncompatibleContract
from hivebus.contracts.subjects import subject_for

CONFLICT = 409
REFUSED = (400, 415, 422)  # the schema itself is bad: no retry will help


def registry_client(url: str | None = None) -> SchemaRegistryClient:
    """A client for the registry at `url`, by default `SCHEMA_REGISTRY_URL` or the dev stack."""
    return SchemaRegistryClient({"url": url or registry_url()})


def register(
    client: SchemaRegistryClient, contract: Contract, topic: str, *, multi_type: bool = False
) -> int:
    """Register `contract` for `topic` and return its schema id (the same id when it exists).

    A refusal (HTTP 409) becomes `IncompatibleContract` naming the subject and each field.
    """
    subject = subject_for(topic, contract.fullname, multi_type=multi_type)
    try:
        return int(client.register_schema(subject, Schema(contract.schema_str, "AVRO")))
    except SchemaRegistryError as exc:
        if exc.http_status_code in REFUSED:
            raise ContractError(
                f"the registry refused {contract.fullname} for subject '{subject}': "
                f"{exc.error_message} (HTTP {exc.http_status_code})"
            ) from exc
        if exc.http_status_code != CONFLICT:
            raise
        level = compatibility_level(client, subject)
        why = reasons(client, contract.schema_str, subject, level) or [str(exc.error_message)]
        raise IncompatibleContract(subject, contract.fullname, level, why) from exc


def lookup_id(client: SchemaRegistryClient, contract: Contract, subject: str) -> int:
    """The id `contract` is already registered with under `subject`; never registers."""
    try:
        found = client.lookup_schema(subject, Schema(contract.schema_str, "AVRO")).schema_id
    except SchemaRegistryError as exc:
        if exc.http_status_code != NOT_FOUND:
            raise
        found = None
    if found is None:
        raise ContractError(
            f"{contract.fullname} is not registered under subject '{subject}'; register it "
            "with `hivebus schemas register` or let the serde auto-register"
        )
    return int(found)
