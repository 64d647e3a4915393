"""The `hivebus` command line: one module per command group, registered here."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from hivebus.cli import (
    agents,
    dev,
    dlq,
    gateway,
    history,
    image,
    publish,
    replay,
    run,
    runs,
    schemas,
    tail,
    topology,
)
from hivebus.errors import HivebusError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hivebus",
        description="Multi-agent AI systems on Apache Kafka.",
        epilog="Run `hivebus <command> --help` for the options of each command.",
    )
    commands = parser.add_subparsers(dest="command", metavar="<command>", required=True)
    run.register(commands)
    publish.register_command(commands)
    tail.register(commands)
    agents.register(commands)
    schemas.register_commands(commands)
    dlq.register(commands)
    runs.register(commands)
    history.register(commands)
    replay.register(commands)
    topology.register(commands)
    gateway.register(commands)
    image.register(commands)
    dev.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except HivebusError as error:
        print(f"hivebus: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `hivebus runs list | head`: the reader has all it wanted
        sys.stderr.close()
        return 0
    return code


if __name__ == "__main__":
    sys.exit(main())
