"""The topology as a data-flow graph: which agent reads and writes which topic, with what.

One model (`flows`) feeds every drawing (Mermaid for Markdown, Graphviz DOT, and SVG when the
`dot` program is installed) and the AsyncAPI export, so all of them tell the same story.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from typing import Literal

from hivebus.errors import HivebusError
from hivebus.runtime.agent import compile_subscription
from hivebus.topology.load import Loaded
from hivebus.topology.wiring import Wired

Direction = Literal["reads", "writes"]


@dataclass(frozen=True)
class Flow:
    """An agent reading from or writing to one topic, and the record types (full names)."""

    agent: str
    topic: str
    direction: Direction
    types: tuple[str, ...]


def carried(loaded: Loaded) -> dict[str, list[str]]:
    """The record full names each topic's declared contracts put on it, in file order."""
    found: dict[str, list[str]] = {}
    for entry, contract in zip(loaded.topology.contracts, loaded.contracts, strict=True):
        for topic in entry.topics:
            names = found.setdefault(topic, [])
            if contract.fullname not in names:
                names.append(contract.fullname)
    return found


def flows(loaded: Loaded, wired: list[Wired]) -> list[Flow]:
    """Every read and write of every agent, agents in topology order, topics sorted."""
    carry = carried(loaded)
    result = []
    for agent in wired:
        for topic in agent.reads:
            handled = {
                h.event_type.fullname
                for h in agent.agent.handlers
                if h.matches(topic)
                and h.event_type.fullname in carry.get(topic, [h.event_type.fullname])
            }
            result.append(Flow(agent.name, topic, "reads", tuple(sorted(handled))))
        for topic in agent.writes:
            written = {
                record.fullname
                for h in agent.agent.handlers
                if h.output == topic
                for record in h.output_types
            }
            result.append(Flow(agent.name, topic, "writes", tuple(sorted(written))))
    return result


def unmatched_patterns(loaded: Loaded, wired: list[Wired]) -> list[tuple[str, str]]:
    """(agent, pattern) for pattern subscriptions no declared topic matches: topics made at
    run time, which a drawing of declared topics alone would hide."""
    found = set()
    for agent in wired:
        for handler in agent.agent.handlers:
            pattern = compile_subscription(handler.topic)
            if pattern and not any(pattern.fullmatch(t) for t in loaded.topology.topics):
                found.add((agent.name, handler.topic))
    return sorted(found)


def topics_drawn(loaded: Loaded, found: list[Flow]) -> list[str]:
    """Declared topics in file order, then undeclared ones the agents use (system topics)."""
    declared = list(loaded.topology.topics)
    return declared + sorted({f.topic for f in found} - set(declared))


def short(fullname: str) -> str:
    return fullname.rsplit(".", 1)[-1]


def node_id(kind: str, name: str) -> str:
    """A Mermaid/DOT-safe id, one-to-one with (kind, name): every character but letters and
    digits becomes `_<hex>_`, so `a.b` and `a_b` and `a-b` never share an id."""
    escaped = "".join(c if c.isascii() and c.isalnum() else f"_{ord(c):x}_" for c in name)
    return f"{kind}_{escaped}"


def _ends(flow: Flow) -> tuple[str, str]:
    """(from, to) node ids: topic to agent for a read, agent to topic for a write."""
    topic, agent = node_id("topic", flow.topic), node_id("agent", flow.agent)
    return (topic, agent) if flow.direction == "reads" else (agent, topic)


def _type_names(flow: Flow) -> str:
    return ", ".join(short(fullname) for fullname in flow.types)


def _mermaid_label(text: str) -> str:
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def mermaid(loaded: Loaded, wired: list[Wired]) -> str:
    """A Mermaid `flowchart LR`: agents as rounded boxes, topics as cylinders, consumes edges
    labelled with the record types read, publishes edges with the types written."""
    found = flows(loaded, wired)
    lines = ["flowchart LR"]
    if loaded.topology.description:
        lines.append(f"  %% {loaded.topology.name}: {loaded.topology.description}")
    topics, agents = [], []
    for topic in topics_drawn(loaded, found):
        topics.append(node_id("topic", topic))
        lines.append(f'  {topics[-1]}[("{_mermaid_label(topic)}")]')
    for agent in wired:
        agents.append(node_id("agent", agent.name))
        lines.append(f'  {agents[-1]}("{_mermaid_label(agent.name)}")')
    patterns = unmatched_patterns(loaded, wired)
    for pattern in sorted({p for _, p in patterns}):
        lines.append(f'  {node_id("pattern", pattern)}{{{{"{_mermaid_label(pattern)}"}}}}')
    for flow in found:
        source, target = _ends(flow)
        arrow = f'-->|"{_type_names(flow)}"|' if flow.types else "-->"
        lines.append(f"  {source} {arrow} {target}")
    for agent_name, pattern in patterns:
        lines.append(f"  {node_id('pattern', pattern)} -.-> {node_id('agent', agent_name)}")
    lines.append("  classDef agent fill:#e8f0fe,stroke:#3367d6")
    lines.append("  classDef topic fill:#fef7e0,stroke:#b06000")
    if agents:
        lines.append(f"  class {','.join(agents)} agent")
    if topics:
        lines.append(f"  class {','.join(topics)} topic")
    return "\n".join(lines) + "\n"


def _dot_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dot(loaded: Loaded, wired: list[Wired]) -> str:
    """The same graph in Graphviz DOT (agents as rounded boxes, topics as cylinders)."""
    found = flows(loaded, wired)
    lines = [f"digraph {_dot_string(loaded.topology.name)} {{", "  rankdir=LR;"]
    for topic in topics_drawn(loaded, found):
        lines.append(
            f"  {_dot_string(node_id('topic', topic))} [label={_dot_string(topic)}, "
            'shape=cylinder, style=filled, fillcolor="#fef7e0"];'
        )
    for agent in wired:
        lines.append(
            f"  {_dot_string(node_id('agent', agent.name))} [label={_dot_string(agent.name)}, "
            'shape=box, style="rounded,filled", fillcolor="#e8f0fe"];'
        )
    patterns = unmatched_patterns(loaded, wired)
    for pattern in sorted({p for _, p in patterns}):
        lines.append(
            f"  {_dot_string(node_id('pattern', pattern))} [label={_dot_string(pattern)}, "
            "shape=hexagon, style=dashed];"
        )
    for flow in found:
        source, target = (_dot_string(end) for end in _ends(flow))
        label = f" [label={_dot_string(_type_names(flow))}]" if flow.types else ""
        lines.append(f"  {source} -> {target}{label};")
    for agent_name, pattern in patterns:
        lines.append(
            f"  {_dot_string(node_id('pattern', pattern))} -> "
            f"{_dot_string(node_id('agent', agent_name))} [style=dashed];"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def svg(dot_source: str) -> str:
    """Render DOT to SVG with Graphviz's `dot` program, when it is installed."""
    program = shutil.which("dot")
    if program is None:
        raise HivebusError(
            "rendering SVG needs Graphviz's `dot` program, which is not on PATH; install "
            "Graphviz, or export `--format mermaid` or `--format dot` instead"
        )
    done = subprocess.run(
        [program, "-Tsvg"], input=dot_source, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise HivebusError(f"dot failed to render the graph: {done.stderr.strip()}")
    return done.stdout
