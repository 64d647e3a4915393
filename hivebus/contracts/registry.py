"""The schema registry client and registration of contracts under their subjects."""

from __future__ import annotations

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient, SchemaRegistryError

from hivebus.contracts.compat import NOT_FOUND, compatibility_level, reasons
from hivebus.contracts.contract import Contract
from hivebus.contracts.errors import ContractError, IncompatibleContract
from hivebus.contracts.outage import registry_call
from hivebus.contracts.registry_config import registry_connection
from hivebus.contracts.subjects import subject_for

CONFLICT = 409
REFUSED = (400, 415, 422)  # the schema itself is bad: no retry will help

# Without a timeout httpx waits forever on a registry that accepted the connection and then
# hung. A healthy registry answers a lookup in milliseconds and a first registration (with its
# compatibility check on a cold JVM) in well under a second or two; 10 s is far past any healthy
# answer, yet a hung one is noticed long before Kafka's session and poll timeouts, and a CLI
# user gets an error instead of a silent terminal. The limit applies to each phase of one HTTP
# attempt (connect, send, each read), as httpx counts it.
DEFAULT_TIMEOUT_S = 10.0
# Confluent's defaults retry 3 times after jittered waits of up to 1, 2 and 4 s: with the
# timeout that is 40+ s before a caller hears of an outage. One retry after at most 250 ms
# still rides over a dropped keep-alive connection or one 503 from a restarting registry, and
# bounds a sync call at about 2 x timeout.
RETRIES = {"max.retries": 1, "retries.wait.ms": 250, "retries.max.wait.ms": 250}


def registry_client(
    url: str | None = None, *, timeout_s: float = DEFAULT_TIMEOUT_S
) -> SchemaRegistryClient:
    """A client for the configured registry (`registry_config.py`: URL, credentials, TLS), or
    for the registry at `url`, which gets the configured credentials only if it is that one.

    Every HTTP attempt gives up after `timeout_s`; `RegistryUnavailable` then tells callers.
    """
    config = registry_connection().config()
    if url is not None and url != config["url"]:
        config = {"url": url}  # credentials are never sent to a registry they are not for
    return SchemaRegistryClient({**config, "timeout": timeout_s, **RETRIES})


def register(
    client: SchemaRegistryClient, contract: Contract, topic: str, *, multi_type: bool = False
) -> int:
    """Register `contract` for `topic` and return its schema id (the same id when it exists).

    A refusal (HTTP 409) becomes `IncompatibleContract` naming the subject and each field.
    """
    subject = subject_for(topic, contract.fullname, multi_type=multi_type)
    try:
        with registry_call(client, f"registering {contract.fullname} under '{subject}'"):
            return int(client.register_schema(subject, Schema(contract.schema_str, "AVRO")))
    except SchemaRegistryError as exc:
        if exc.http_status_code in REFUSED:
            raise ContractError(
                f"the registry refused {contract.fullname} for subject '{subject}': "
                f"{exc.error_message} (HTTP {exc.http_status_code})"
            ) from exc
        if exc.http_status_code != CONFLICT:
            raise
        with registry_call(client, f"explaining why '{subject}' refused {contract.fullname}"):
            level = compatibility_level(client, subject)
            why = reasons(client, contract.schema_str, subject, level) or [str(exc.error_message)]
        raise IncompatibleContract(subject, contract.fullname, level, why) from exc


def lookup_id(client: SchemaRegistryClient, contract: Contract, subject: str) -> int:
    """The id `contract` is already registered with under `subject`; never registers."""
    try:
        with registry_call(client, f"looking up {contract.fullname} under '{subject}'"):
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
