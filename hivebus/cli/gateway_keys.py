"""`hivebus gateway keys create|list|revoke`: the gateway's API keys, in its key file.

The file keeps only each key's hash; `create` prints the key itself once, alone on stdout
(so `KEY=$(hivebus gateway keys create ...)` takes it), and what to do with it on stderr.
A running gateway reads the file again when it changes: no restart after either action.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hivebus.errors import ConfigError

DESCRIPTION = """\
API keys for the gateway. A request needs 'Authorization: Bearer <key>' (a WebSocket or an
EventSource may pass ?access_token=<key>) once the gateway has a key file (--keys PATH or
HIVEBUS_GATEWAY_KEYS). Each key may use only the agents its patterns match: submit to them,
and read, stream, cancel or signal their tasks. The file keeps hashes only.
"""
EXAMPLE = """\
examples:
  export HIVEBUS_GATEWAY_KEYS=/etc/hivebus/gateway-keys.json
  hivebus gateway keys create fraud-ui --agents 'fraud-*,compliance'
  hivebus gateway keys list
  hivebus gateway keys revoke fraud-ui
"""


def register(gateway: argparse.ArgumentParser) -> None:
    """`keys` under `hivebus gateway`, which serves when no action is named."""
    actions = gateway.add_subparsers(
        dest="gateway_command", metavar="[keys]", title="without an action it serves; actions"
    )
    keys = actions.add_parser(
        "keys",
        help="create, list or revoke API keys (see `hivebus gateway keys --help`)",
        description=DESCRIPTION,
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = keys.add_subparsers(dest="keys_command", metavar="<action>", required=True)
    create = sub.add_parser(
        "create",
        help="make a key and print it once (the file keeps its hash)",
        description="Make a key for NAME; it is printed once, and cannot be shown again.",
    )
    create.add_argument("name", help="who or what uses the key (unique among active keys)")
    create.add_argument(
        "--agents",
        required=True,
        metavar="PATTERNS",
        help="comma-separated agent names or fnmatch patterns the key may use: "
        "'fraud-*,research'; '*' for every agent",
    )
    _file_option(create)
    create.set_defaults(handler=_create)
    listing = sub.add_parser("list", help="one line per key: id, name, agents, state")
    _file_option(listing)
    listing.set_defaults(handler=_list)
    revoke = sub.add_parser(
        "revoke",
        help="refuse a key from now on (a running gateway within a second)",
        description="Mark the key revoked; it stays listed, with when it was revoked.",
    )
    revoke.add_argument("key", metavar="NAME_OR_ID", help="the key's name or id (`keys list`)")
    _file_option(revoke)
    revoke.set_defaults(handler=_revoke)


def _file_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--file", type=Path, metavar="PATH", help="the key file (default: $HIVEBUS_GATEWAY_KEYS)"
    )


def _create(args: argparse.Namespace) -> int:
    from hivebus.gateway.auth import keys

    path = _path(args)
    records = keys.load_or_empty(path)
    key, record = keys.new_key(args.name, args.agents.split(","), records)
    keys.save(path, [*records, record])
    print(key)
    print(
        f"created key {record.name!r} (id {record.id}) for agents {', '.join(record.agents)} "
        f"in {path}\nstore it now: it is not shown again (the file keeps only its hash)",
        file=sys.stderr,
    )
    return 0


def _list(args: argparse.Namespace) -> int:
    from hivebus.gateway.auth import keys

    path = _path(args)
    records = keys.load(path)
    if records:
        print(f"{'ID':<12}  {'NAME':<24} {'AGENTS':<32} {'CREATED':<20}  STATE")
    for r in records:
        state = "active" if r.active else f"revoked {r.revoked_at}"
        print(f"{r.id}  {r.name:<24} {','.join(r.agents):<32} {r.created_at}  {state}")
    print(f"{sum(r.active for r in records)} active key(s) in {path}", file=sys.stderr)
    return 0


def _revoke(args: argparse.Namespace) -> int:
    from hivebus.gateway.auth import keys

    path = _path(args)
    records, done = keys.revoke(keys.load(path), args.key)
    keys.save(path, records)
    print(f"revoked key {done.name!r} (id {done.id}) in {path}")
    return 0


def _path(args: argparse.Namespace) -> Path:
    from hivebus.gateway.auth.keys import KEYS_ENV, keys_file_from_env

    path: Path | None = args.file or keys_file_from_env()
    if path is None:
        raise ConfigError(f"name the key file: --file PATH, or set {KEYS_ENV}")
    return path.expanduser()
