"""`hivebus schemas check|register`: contracts against the registry, before anything deploys."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from hivebus.contracts import (
    check_compatibility,
    load_contract,
    load_contracts,
    register,
    registry_client,
)


def register_commands(commands: Any) -> None:
    schemas = commands.add_parser(
        "schemas",
        help="check or register the Avro contracts in schemas/",
        description="Work with the Avro contracts (*.avsc) that are the wire contract.",
    )
    sub = schemas.add_subparsers(dest="schemas_command", metavar="<action>", required=True)
    check = sub.add_parser(
        "check",
        help="exit 1 if a local contract breaks a registered subject",
        description=(
            "For every contract in the folder (the highest version of each record name), find "
            "each registry subject whose latest schema has the same record name, and test "
            "compatibility under that subject's level. Prints every subject checked; names "
            "the offending field of each break; exits 1 on any break."
        ),
    )
    check.add_argument(
        "--schemas", type=Path, default=Path("schemas"), help="folder (default schemas/)"
    )
    check.set_defaults(handler=_check)
    reg = sub.add_parser(
        "register",
        help="register contracts for topics (TopicNameStrategy, or per record with --multi-type)",
        description="Register each .avsc for each --topic; exit 1 if the registry refuses one.",
        epilog=(
            "example: hivebus schemas register schemas/payments/Transaction.v2.avsc "
            "--topic transactions.card"
        ),
    )
    reg.add_argument("files", nargs="+", type=Path, metavar="file.avsc")
    reg.add_argument("--topic", action="append", required=True, help="topic (repeatable)")
    reg.add_argument("--multi-type", action="store_true", help="subject <topic>-<record name>")
    reg.set_defaults(handler=_register)


def _check(args: argparse.Namespace) -> int:
    contracts = load_contracts(args.schemas)
    findings = check_compatibility(registry_client(), contracts.values())
    broken = 0
    for finding in findings:
        verdict = "ok" if finding.compatible else "INCOMPATIBLE"
        print(f"{verdict:<12} {finding.subject}  ({finding.fullname}, {finding.level})")
        for message in finding.messages:
            print(f"             - {message}")
        broken += not finding.compatible
    unregistered = sorted(set(contracts) - {f.fullname for f in findings})
    for fullname in unregistered:
        print(f"{'new':<12} {fullname}  (no subject uses it yet)")
    print(f"{len(findings)} subject(s) checked, {broken} incompatible")
    return 1 if broken else 0


def _register(args: argparse.Namespace) -> int:
    client = registry_client()
    for file in args.files:
        contract = load_contract(file)
        for topic in args.topic:
            schema_id = register(client, contract, topic, multi_type=args.multi_type)
            print(f"registered {contract.fullname} for {topic} (schema id {schema_id})")
    return 0
