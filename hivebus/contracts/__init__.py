"""Contracts: Avro <-> pydantic, registry client, serde, CloudEvents headers, evolution checks."""

from hivebus.contracts.contract import (
    Contract,
    contract_from_dict,
    contract_versions,
    load_contract,
    load_contracts,
)
from hivebus.contracts.errors import (
    ContractDriftError,
    ContractError,
    IncompatibleContract,
    RegistryUnavailable,
    UndecodableRecord,
)
from hivebus.contracts.evolution import Finding, check_compatibility
from hivebus.contracts.headers import EventMeta, HeaderBuilder, lineage, parse_headers
from hivebus.contracts.record import Record, check_drift
from hivebus.contracts.registry import register, registry_client
from hivebus.contracts.serde import Decoder, Encoder, Serde, WriterSchema
from hivebus.contracts.subjects import subject_for

__all__ = [
    "Contract",
    "ContractDriftError",
    "ContractError",
    "Decoder",
    "Encoder",
    "EventMeta",
    "Finding",
    "HeaderBuilder",
    "IncompatibleContract",
    "Record",
    "RegistryUnavailable",
    "Serde",
    "UndecodableRecord",
    "WriterSchema",
    "check_compatibility",
    "check_drift",
    "contract_from_dict",
    "contract_versions",
    "lineage",
    "load_contract",
    "load_contracts",
    "parse_headers",
    "register",
    "registry_client",
    "subject_for",
]
