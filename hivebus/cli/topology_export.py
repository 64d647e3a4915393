"""`hivebus topology export asyncapi` and `hivebus topology graph`: the topology described for
people and tools that do not run hivebus (AsyncAPI viewers, Markdown, Graphviz)."""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path
from typing import Any

from hivebus.errors import HivebusError
from hivebus.kafka.endpoints import BOOTSTRAP_ENV
from hivebus.topology import load_topology, wire
from hivebus.topology.asyncapi import Format, asyncapi_document, render
from hivebus.topology.graph import dot, mermaid, svg

_EXPORT_EXAMPLES = """\
examples:
  hivebus topology export asyncapi topology/payments.yaml > payments.asyncapi.yaml
  hivebus topology export asyncapi topology/payments.yaml --format json -o docs/payments.json
  hivebus topology export asyncapi topology/payments.yaml --server kafka.prod:9092

View it in AsyncAPI Studio (paste it in), or check it with the AsyncAPI CLI:
`asyncapi validate payments.asyncapi.yaml`. See docs/topology-export.md.
"""
_GRAPH_EXAMPLES = """\
examples:
  hivebus topology graph topology/payments.yaml            (Mermaid, for a ```mermaid block)
  hivebus topology graph topology/payments.yaml --format dot | dot -Tpng > payments.png
  hivebus topology graph topology/payments.yaml --format svg -o payments.svg   (needs Graphviz)
"""


def register(actions: Any) -> None:
    """Add `export asyncapi` and `graph` under `hivebus topology`."""
    export = actions.add_parser(
        "export",
        help="describe a topology in a standard format (AsyncAPI 3.0)",
        description="Write a description of the topology that other tools read; offline.",
    )
    kinds = export.add_subparsers(dest="export_format", metavar="<standard>", required=True)
    asyncapi = kinds.add_parser(
        "asyncapi",
        help="an AsyncAPI 3.0.0 document: channels, Avro messages, each agent's operations",
        description=_wrapped(
            "Every declared topic becomes a channel (Kafka bindings: partitions, replicas, "
            "retention) whose messages are the Avro contracts declared for it, with the "
            "CloudEvents headers and the string key. Each agent gets a receive operation per "
            "topic it reads (its consumer group in the Kafka binding) and a send operation "
            "per topic it writes. The agents are imported; no cluster is contacted."
        ),
        epilog=_EXPORT_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _file_argument(asyncapi)
    asyncapi.add_argument(
        "--format",
        choices=("yaml", "json"),
        help="default: from --output's extension (.json is JSON), else yaml",
    )
    _output_argument(asyncapi)
    asyncapi.add_argument(
        "--server",
        metavar="HOST:PORT",
        help=f"Kafka bootstrap server(s) to describe (default ${BOOTSTRAP_ENV} or the dev stack)",
    )
    asyncapi.add_argument("--registry", metavar="URL", help="the schema registry URL to describe")
    asyncapi.add_argument(
        "--api-version",
        metavar="VERSION",
        help="info.version (default 0.0.0+<digest of channels and operations>)",
    )
    asyncapi.set_defaults(handler=export_asyncapi)

    graph = actions.add_parser(
        "graph",
        help="draw agents and topics: Mermaid, Graphviz DOT or SVG",
        description=_wrapped(
            "Draw the data flow: topics (cylinders) to the agents that read them, labelled with "
            "the event types read, and agents (rounded boxes) to the topics they write. A "
            "pattern subscription that matches no declared topic is drawn dashed."
        ),
        epilog=_GRAPH_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _file_argument(graph)
    graph.add_argument(
        "--format",
        choices=("mermaid", "dot", "svg"),
        default="mermaid",
        help="mermaid (default), dot, or svg (runs Graphviz's dot, which must be installed)",
    )
    _output_argument(graph)
    graph.set_defaults(handler=draw_graph)


def _wrapped(text: str) -> str:
    """Descriptions wrapped here, since the raw formatter (kept for the examples) does not."""
    return textwrap.fill(text, width=88)


def _file_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, metavar="FILE", help="the topology YAML file")


def _output_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--output", "-o", default="-", metavar="PATH", help="file to write (default -: stdout)"
    )


def export_asyncapi(args: argparse.Namespace) -> int:
    loaded = load_topology(args.file)
    document = asyncapi_document(
        loaded, wire(loaded), server=args.server, registry=args.registry, version=args.api_version
    )
    fmt: Format = args.format or ("json" if str(args.output).endswith(".json") else "yaml")
    _write(render(document, fmt), args.output)
    return 0


def draw_graph(args: argparse.Namespace) -> int:
    loaded = load_topology(args.file)
    wired = wire(loaded)
    if args.format == "mermaid":
        text = mermaid(loaded, wired)
    else:
        text = dot(loaded, wired)
        if args.format == "svg":
            text = svg(text)
    _write(text, args.output)
    return 0


def _write(text: str, output: str) -> None:
    if output == "-":
        sys.stdout.write(text)
        return
    target = Path(output)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as error:
        raise HivebusError(f"cannot write {target}: {error.strerror or error}") from None
    print(f"wrote {target}", file=sys.stderr)
