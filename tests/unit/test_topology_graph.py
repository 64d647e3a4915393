"""The topology drawn as a data-flow graph: every topic and agent, every read and write."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hivebus.cli.topology_export import register
from hivebus.errors import HivebusError
from hivebus.topology import Loaded, Wired, load_topology, wire
from hivebus.topology.graph import dot, mermaid, node_id, svg

ROOT = Path(__file__).resolve().parents[2]
PAYMENTS = ROOT / "topology" / "payments.yaml"

_RECORDS = {
    "Order": [("id", "string"), ("region", "string")],
    "Shipped": [("order_id", "string")],
    "Cancelled": [("order_id", "string"), ("reason", "string")],
}
_AGENTS = """
from __future__ import annotations

from pathlib import Path

from hivebus import Agent, Context, Record

HERE = Path(__file__).resolve().parent


class Order(Record, avsc=HERE / "Order.avsc"):
    id: str
    region: str


class Shipped(Record, avsc=HERE / "Shipped.avsc"):
    order_id: str


class Cancelled(Record, avsc=HERE / "Cancelled.avsc"):
    order_id: str
    reason: str


router = Agent("order-router", description="Ships or cancels every order")


@router.on("orders.*", Order, output="order.events", output_multi_type=True)
async def route(order: Order, ctx: Context) -> Shipped | Cancelled:
    return Shipped(order_id=order.id)


auditor = Agent("auditor")


@auditor.on("order.events", Shipped)
async def audit(event: Shipped, ctx: Context) -> None:
    return None


watcher = Agent("tenant_watcher")


@watcher.on("tenant-.*", Order)
async def watch(order: Order, ctx: Context) -> None:
    return None
"""
_TOPOLOGY = """
name: shop
description: Orders from two regions, routed to one multi-type topic
topics:
  orders.eu: {partitions: 6}
  orders.us-east: {partitions: 2, replication: 3}
  order.events: {partitions: 4, multi_type: true, cleanup: "compact,delete", retention: 2d}
  dead-letters: {partitions: 1, config: {max.message.bytes: "2097152"}}
contracts:
  - schema: Order.avsc
    topics: [orders.eu, orders.us-east]
  - schema: Shipped.avsc
    topics: [order.events]
  - schema: Cancelled.avsc
    topics: [order.events]
agents:
  order-router: {module: agents.py:router}
  auditor: {module: agents.py:auditor}
  tenant_watcher: {module: agents.py:watcher}
"""


def write_shop(folder: Path) -> Path:
    """A small topology: a pattern subscription over two topics, a multi-type topic read for
    one of its two types, a pattern matching no declared topic, and an unused topic."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, fields in _RECORDS.items():
        schema = {
            "type": "record",
            "name": name,
            "namespace": "acme.orders",
            "doc": f"A {name.lower()} event.",
            "fields": [{"name": field, "type": kind} for field, kind in fields],
        }
        (folder / f"{name}.avsc").write_text(json.dumps(schema))
    (folder / "agents.py").write_text(_AGENTS)
    path = folder / "shop.yaml"
    path.write_text(textwrap.dedent(_TOPOLOGY).lstrip())
    return path


def loaded_and_wired(path: Path) -> tuple[Loaded, list[Wired]]:
    loaded = load_topology(path)
    return loaded, wire(loaded)


_TOPIC_NODE = re.compile(r'^  (\w+)\[\("([^"]*)"\)\]$')
_AGENT_NODE = re.compile(r'^  (\w+)\("([^"]*)"\)$')
_PATTERN_NODE = re.compile(r'^  (\w+)\{\{"([^"]*)"\}\}$')
_EDGE = re.compile(r'^  (\w+) (-->|-\.->)(?:\|"([^"]*)"\|)? (\w+)$')


def parse(chart: str) -> tuple[dict[str, str], dict[str, str], dict[str, str], list[tuple]]:
    """(topic ids -> names, agent ids -> names, pattern ids -> patterns, edges) of a chart,
    failing on any line that is none of those nor a comment, class or classDef."""
    lines = chart.splitlines()
    assert lines[0] == "flowchart LR"
    topics, agents, patterns, edges = {}, {}, {}, []
    for line in lines[1:]:
        if match := _TOPIC_NODE.match(line):
            topics[match[1]] = match[2]
        elif match := _AGENT_NODE.match(line):
            agents[match[1]] = match[2]
        elif match := _PATTERN_NODE.match(line):
            patterns[match[1]] = match[2]
        elif match := _EDGE.match(line):
            edges.append((match[1], match[2], match[3], match[4]))
        else:
            assert line.startswith(("  %%", "  class ", "  classDef ")), line
    return topics, agents, patterns, edges


def named_edges(chart: str) -> set[tuple[str, str, str | None]]:
    """Edges as (from name, to name, label), ids translated back to the names drawn."""
    topics, agents, patterns, edges = parse(chart)
    names = {**topics, **agents, **patterns}
    return {(names[a], names[b], label) for a, _, label, b in edges}


def test_payments_draws_every_topic_and_agent_once() -> None:
    loaded, wired = loaded_and_wired(PAYMENTS)
    topics, agents, patterns, _ = parse(mermaid(loaded, wired))
    assert sorted(topics.values()) == sorted(loaded.topology.topics)
    assert sorted(agents.values()) == sorted(loaded.topology.agents)
    assert not patterns
    assert not set(topics) & set(agents)


def test_payments_edges_follow_what_each_agent_reads_and_writes() -> None:
    loaded, wired = loaded_and_wired(PAYMENTS)
    assert named_edges(mermaid(loaded, wired)) == {
        ("transactions.card", "fraud-detector", "Transaction"),
        ("transactions.wire", "fraud-detector", "Transaction"),
        # Its `transactions.*` pattern matches the flagged topic, which carries no Transaction.
        ("fraud-detector", "transactions.flagged", "FlaggedTransaction"),
        ("transactions.flagged", "compliance-officer", "FlaggedTransaction"),
        ("compliance-officer", "compliance.decisions", "ComplianceDecision"),
    }


def test_a_multi_type_topic_and_an_unmatched_pattern(tmp_path: Path) -> None:
    loaded, wired = loaded_and_wired(write_shop(tmp_path / "shop"))
    chart = mermaid(loaded, wired)
    edges = named_edges(chart)
    assert ("orders.eu", "order-router", "Order") in edges
    assert ("orders.us-east", "order-router", "Order") in edges
    assert ("order-router", "order.events", "Cancelled, Shipped") in edges
    # The auditor handles one of the topic's two types: the edge names only that one.
    assert ("order.events", "auditor", "Shipped") in edges
    # `tenant-.*` matches nothing declared: drawn as a dashed pattern node, not lost.
    _, _, patterns, raw = parse(chart)
    assert list(patterns.values()) == ["tenant-.*"]
    (pattern_id,) = patterns
    assert [(a, kind) for a, kind, _, b in raw if b == node_id("agent", "tenant_watcher")] == [
        (pattern_id, "-.->")
    ]
    # dead-letters: declared, used by no one, still drawn.
    assert "dead-letters" in parse(chart)[0].values()


def test_ids_are_safe_and_never_shared() -> None:
    names = ["a.b", "a_b", "a-b", "ab", "transactions.*", "x^y$", "a_2e_b", "end"]
    ids = [node_id("topic", name) for name in names]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[A-Za-z0-9_]+", ident) for ident in ids)
    assert node_id("topic", "a") != node_id("agent", "a")


def test_the_drawing_is_the_same_in_every_process(tmp_path: Path) -> None:
    """Sets are iterated in hash order, which differs per process: nothing may leak through."""
    path = write_shop(tmp_path / "shop")
    script = (
        "import sys; from hivebus.topology import load_topology, wire; "
        "from hivebus.topology.graph import mermaid, dot; "
        "l = load_topology(sys.argv[1]); w = wire(l); print(mermaid(l, w) + dot(l, w))"
    )
    outputs = set()
    for seed in ("0", "1"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", script, str(path)],
            env=env, capture_output=True, text=True, check=True, timeout=60,
        )  # fmt: skip
        outputs.add(done.stdout)
    assert len(outputs) == 1


def test_dot_declares_every_node_its_edges_use(tmp_path: Path) -> None:
    loaded, wired = loaded_and_wired(write_shop(tmp_path / "shop"))
    text = dot(loaded, wired)
    assert text.startswith('digraph "shop" {') and text.rstrip().endswith("}")
    declared = set(re.findall(r'^  "(\w+)" \[label=', text, re.M))
    edges = re.findall(r'^  "(\w+)" -> "(\w+)"', text, re.M)
    assert len(edges) == 5  # 2 reads of orders.*, 1 write, 1 auditor read, 1 dashed pattern
    assert {end for edge in edges for end in edge} <= declared
    assert "shape=cylinder" in text and 'style="rounded,filled"' in text


def test_svg_needs_graphviz() -> None:
    loaded, wired = loaded_and_wired(PAYMENTS)
    if shutil.which("dot") is None:
        with pytest.raises(HivebusError, match="Graphviz"):
            svg(dot(loaded, wired))
    else:
        assert "<svg" in svg(dot(loaded, wired))


def test_the_doc_shows_the_current_payments_graph() -> None:
    loaded, wired = loaded_and_wired(PAYMENTS)
    doc = (ROOT / "docs" / "topology-export.md").read_text()
    assert f"```mermaid\n{mermaid(loaded, wired)}```" in doc


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="hivebus topology")
    register(parser.add_subparsers(dest="action", required=True))
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code


def test_the_graph_command_writes_each_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    loaded, wired = loaded_and_wired(PAYMENTS)
    assert _cli(["graph", str(PAYMENTS)]) == 0
    assert capsys.readouterr().out == mermaid(loaded, wired)
    target = tmp_path / "out" / "payments.dot"
    assert _cli(["graph", str(PAYMENTS), "--format", "dot", "-o", str(target)]) == 0
    assert target.read_text() == dot(loaded, wired)
