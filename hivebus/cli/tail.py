"""`hivebus tail`: decoded events and their headers, one readable line each."""

from __future__ import annotations

import argparse
import json
import time
import uuid
from typing import Any

from confluent_kafka import Consumer

from hivebus.contracts import Serde, UndecodableRecord, parse_headers, registry_client
from hivebus.kafka.access import AccessWatch
from hivebus.kafka.connection import connection_settings
from hivebus.kafka.records import Consumed, one
from hivebus.runtime.agent import compile_subscription


def register(commands: Any) -> None:
    tail = commands.add_parser(
        "tail",
        help="print the events on a topic or topic pattern as they arrive",
        description=(
            "Print each event as one line: topic[partition]@offset, key, CloudEvents type, id "
            "and time, then the decoded Avro value as JSON. A name with regex characters is a "
            "pattern (anchored: 'transactions.*'). Undecodable values are shown as such."
        ),
        epilog="example: hivebus tail 'transactions.*' --from-beginning --max 20",
    )
    tail.add_argument("topic", metavar="topic-or-pattern")
    tail.add_argument("--from-beginning", action="store_true", help="start at the oldest event")
    tail.add_argument("--max", type=int, metavar="N", help="stop after N events")
    tail.add_argument("--timeout", type=float, metavar="SECONDS", help="stop after this long idle")
    tail.add_argument("--headers", action="store_true", help="also print every header")
    tail.set_defaults(handler=_tail)


def _tail(args: argparse.Namespace) -> int:
    pattern = compile_subscription(args.topic)
    subscription = args.topic if pattern is None else f"^{pattern.pattern}$"
    watch = AccessWatch()
    consumer = Consumer({
        **connection_settings("consumer"), "error_cb": watch,
        "group.id": f"hivebus-tail-{uuid.uuid4().hex[:8]}",
        "auto.offset.reset": "earliest" if args.from_beginning else "latest",
        "enable.auto.commit": False,
        "topic.metadata.refresh.interval.ms": 2000,
    })  # fmt: skip
    serde = Serde(registry_client())
    consumer.subscribe([subscription])
    seen, idle_since = 0, time.monotonic()
    try:
        while args.max is None or seen < args.max:
            message = consumer.poll(0.5)
            watch.check()
            if message is None or message.error() is not None:
                if args.timeout is not None and time.monotonic() - idle_since > args.timeout:
                    break
                continue
            idle_since = time.monotonic()
            print(format_event(one(message), serde, args.headers), flush=True)
            seen += 1
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()
    return 0


def format_event(message: Consumed, serde: Serde, all_headers: bool = False) -> str:
    where = f"{message.topic()}[{message.partition()}]@{message.offset()}"
    key = (message.key() or b"").decode(errors="replace")
    meta = parse_headers(message.headers())
    head = f"{where} key={key or '-'}"
    if meta is not None:
        head += f" type={meta.type} id={meta.id} time={meta.time}"
    try:
        writer, value = serde.decode_any(message.value() or b"")
        body = json.dumps(value, default=str, separators=(",", ":"))
        if meta is None:
            head += f" type={writer.fullname}"
    except UndecodableRecord as error:
        body = f"<undecodable: {error.reason}: {len(message.value() or b'')} bytes>"
    line = f"{head} {body}"
    if all_headers:
        pairs = [f"{k}={(v or b'').decode(errors='replace')}" for k, v in message.headers() or []]
        line += "\n    " + " ".join(pairs)
    return line
