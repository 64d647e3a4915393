"""`hivebus gateway`: the HTTP gateway, tasks over HTTP with live status streams."""

from __future__ import annotations

import argparse
import ipaddress
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

from hivebus.cli import gateway_keys
from hivebus.contracts.registry_config import registry_connection
from hivebus.errors import ConfigError
from hivebus.kafka.access import CLI_TIMEOUT_S, check_access
from hivebus.kafka.connection import connection

LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR"]
DESCRIPTION = """\
Serve the HTTP gateway. A task is a durable run of an agent:

  POST /v1/tasks                       start one (the input is checked against the
                                       agent's Avro contract); 202 at once
  GET  /v1/tasks/{id}                  where the run is: state, steps, result
  GET  /v1/tasks/{id}/events           its events as Server-Sent Events, resumable
                                       with Last-Event-ID on any replica
  WS   /v1/tasks/{id}/ws               the same over a WebSocket
  POST /v1/tasks/{id}/cancel           cancel the run
  POST /v1/tasks/{id}/signals/{name}   the JSON body is what ctx.wait_for(name) gets
  GET  /dashboard                      a live page: agents (instances, lag, in flight,
                                       rates), the newest tasks and their steps, and
                                       dead letters (data: /v1/dashboard[/events])

Everything is read from Kafka, so any number of replicas serve any task.

With a key file (--keys, or HIVEBUS_GATEWAY_KEYS) every route but /healthz needs
'Authorization: Bearer <key>', and a key may use only its agents; make keys with
`hivebus gateway keys create`. Without one the gateway is open to whoever reaches it,
so it then serves only on a loopback address unless --no-auth says that is meant.
See docs/gateway.md.
"""
EXAMPLE = """\
examples:
  hivebus gateway --port 8080
  curl -s -X POST localhost:8080/v1/tasks -H 'content-type: application/json' \\
       -d '{"agent": "lead-scout", "input": {"company": "Acme"}}'
  curl -N localhost:8080/v1/tasks/<id>/events

  KEY=$(hivebus gateway keys create ui --agents 'lead-*' --file keys.json)
  hivebus gateway --host 0.0.0.0 --keys keys.json --cors-origin https://app.example.com
  curl -N -H "Authorization: Bearer $KEY" localhost:8080/v1/tasks/<id>/events
"""


def register(commands: Any) -> None:
    gateway = commands.add_parser(
        "gateway",
        help="serve tasks over HTTP: submit to a durable agent, follow its run live",
        description=DESCRIPTION,
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    gateway.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    gateway.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    gateway.add_argument("--log-level", default="INFO", choices=LEVELS, help="default INFO")
    gateway.add_argument(
        "--max-body-bytes",
        type=int,
        default=1024 * 1024,
        help="larger request bodies are refused with 413 (default 1 MiB)",
    )
    gateway.add_argument(
        "--keepalive",
        type=float,
        default=15.0,
        metavar="SECONDS",
        help="an SSE comment this often on a quiet stream, for proxies (default 15)",
    )
    gateway.add_argument(
        "--keys",
        type=Path,
        metavar="PATH",
        help="the API key file: requests need a key from it (default: $HIVEBUS_GATEWAY_KEYS; "
        "without either the gateway is open)",
    )
    gateway.add_argument(
        "--cors-origin",
        action="append",
        metavar="ORIGIN",
        help="let browser pages of ORIGIN (https://app.example.com) call the gateway; "
        "repeatable (default: $HIVEBUS_GATEWAY_CORS_ORIGINS, comma-separated; else no CORS)",
    )
    gateway.add_argument(
        "--no-auth",
        action="store_true",
        help="serve without API keys on a non-loopback --host (behind a proxy that "
        "authenticates); without keys the gateway refuses such a host otherwise",
    )
    gateway.set_defaults(handler=_serve)
    gateway_keys.register(gateway)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn  # the server only when serving: `hivebus --help` stays quick

    from hivebus.gateway import Settings, create_app

    if args.max_body_bytes < 1 or args.keepalive <= 0:
        raise ConfigError("--max-body-bytes and --keepalive must be positive")
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = Settings(max_body_bytes=args.max_body_bytes, keepalive_s=args.keepalive)
    if args.keys is not None:
        settings = replace(settings, keys_file=args.keys.expanduser())
    if args.cors_origin:
        settings = replace(settings, cors_origins=tuple(args.cors_origin))
    _check_open(settings.keys_file, args.host, args.no_auth)
    app = create_app(settings)  # reads the key file: a bad one is refused before Kafka
    connection()  # a bad setting is refused here, in one sentence naming it
    registry_connection()
    check_access(CLI_TIMEOUT_S)
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level.lower(),
        access_log=args.log_level == "DEBUG",
    )
    return 0


def _check_open(keys: Path | None, host: str, allowed: bool) -> None:
    """An open gateway on an address others reach only when asked for in so many words."""
    if keys is not None or allowed or _loopback(host):
        return
    raise ConfigError(
        f"without API keys the gateway on {host} would take tasks from anyone who reaches "
        "it: give --keys PATH (make keys with `hivebus gateway keys create`), bind "
        "--host 127.0.0.1, or pass --no-auth when a proxy in front authenticates"
    )


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
