"""`hivebus publish`: one event from the command line, encoded against its contract."""

from __future__ import annotations

import argparse
import json
from io import BytesIO
from pathlib import Path
from typing import Any

import fastavro
from confluent_kafka import Producer
from fastavro.validation import ValidationError, validate

from hivebus.cli.client_settings import key_value
from hivebus.contracts import (
    Contract,
    HeaderBuilder,
    load_contract,
    load_contracts,
    register,
    registry_client,
)
from hivebus.contracts.strict import describe_unknown, unknown_fields
from hivebus.contracts.wire import frame_header
from hivebus.errors import ConfigError, HivebusError
from hivebus.kafka.access import AccessWatch, flush_watched
from hivebus.kafka.config import check_settings, producer_config

FLUSH_TIMEOUT_S = 30.0


def register_command(commands: Any) -> None:
    publish = commands.add_parser(
        "publish",
        help="publish one event, encoded with its Avro contract",
        description=(
            "Encode a JSON value with the contract named by --type (an Avro record full name "
            "found in --schemas, or the file given with --schema), register the contract for "
            "the topic if needed, and publish it with CloudEvents headers. Prints the event id. "
            "A key the record (or a record nested in it) has no field for is refused."
        ),
        epilog=(
            "example: hivebus publish transactions.card --type hivebus.examples.payments."
            'Transaction --key acct-1 --json \'{"id": "t1", ...}\''
        ),
    )
    publish.add_argument("topic")
    publish.add_argument("--type", dest="record", help="the record's Avro full name")
    publish.add_argument("--schema", type=Path, help="a .avsc file instead of --type")
    publish.add_argument(
        "--schemas", type=Path, default=Path("schemas"), help="folder (default schemas/)"
    )
    publish.add_argument("--json", required=True, help="the event's value as JSON ('-' for stdin)")
    publish.add_argument("--key", help="the record key (the entity the event is about)")
    publish.add_argument("--source", default="hivebus-cli", help="ce_source (default hivebus-cli)")
    publish.add_argument("--correlation-id", help="ce_correlationid to carry")
    publish.add_argument("--multi-type", action="store_true", help="subject <topic>-<record name>")
    publish.add_argument(
        "--producer-config", action="append", default=[], metavar="KEY=VALUE", type=key_value,
        help="librdkafka producer setting, e.g. compression.type=gzip for consumers that "
        "cannot read lz4 (repeatable; over HIVEBUS_KAFKA_CONFIG and hivebus's defaults)",
    )  # fmt: skip
    publish.set_defaults(handler=_publish)


def _publish(args: argparse.Namespace) -> int:
    overrides = dict(args.producer_config)
    check_settings("producer", overrides)
    contract = _contract(args)
    text = input() if args.json == "-" else args.json
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"--json is not valid JSON: {error}") from None
    # fastavro drops keys the schema lacks: a misspelt field would go out as its default.
    if unknown := unknown_fields(value, contract):
        raise ConfigError(f"{describe_unknown(contract, unknown)}; nothing was published")
    try:
        validate(value, contract.parsed, raise_errors=True)
    except ValidationError as error:
        raise ConfigError(f"the value does not fit {contract.fullname}: {error}") from None
    schema_id = register(registry_client(), contract, args.topic, multi_type=args.multi_type)
    out = BytesIO(frame_header(schema_id))
    out.seek(0, 2)
    fastavro.schemaless_writer(out, contract.parsed, value)
    headers, event_id = HeaderBuilder(args.source).build(
        contract.fullname, correlation_id=args.correlation_id
    )
    watch = AccessWatch()
    producer = Producer({**producer_config("hivebus-cli", overrides), "error_cb": watch})
    failures: list[str] = []
    producer.produce(
        args.topic, out.getvalue(), key=args.key, headers=list(headers),
        on_delivery=lambda error, _: failures.append(error.str()) if error else None,
    )  # fmt: skip
    if flush_watched(producer, watch, FLUSH_TIMEOUT_S) != 0 or failures:
        why = "; ".join(failures) or f"no acknowledgement within {FLUSH_TIMEOUT_S:g} s"
        raise HivebusError(f"the event was not acknowledged: {why}")
    print(f"published {contract.fullname} to {args.topic} as {event_id} (schema id {schema_id})")
    return 0


def _contract(args: argparse.Namespace) -> Contract:
    if args.schema is not None:
        return load_contract(args.schema)
    if not args.record:
        raise ConfigError("name the contract with --type <record full name> or --schema <file>")
    contracts = load_contracts(args.schemas)
    if args.record not in contracts:
        known = ", ".join(sorted(contracts)) or "none"
        raise ConfigError(f"no contract {args.record!r} in {args.schemas}/ (found: {known})")
    return contracts[args.record]
