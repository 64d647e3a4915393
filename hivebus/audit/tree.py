"""The causal tree of one piece of work, rebuilt from its audit events.

Events are linked by their CloudEvents ids: a decision hangs under the event it handled
(`input.event_id`), the events it published hang under it (`outputs`), so the decision of the
next agent hangs under those, across every agent. An event no audited decision published
hangs under what its `ce_causationid` names: an event, or a durable run (a call's request is
caused by the run that sent it); otherwise it is a root. A decision's steps and LLM calls come
in the order they ended, each LLM call inside the step it was made in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hivebus.audit.records import ATTEMPT, DECISION, LLM, STEP, AuditEvent

EVENT = "event"


@dataclass
class Node:
    kind: str  # event, decision, step or llm
    id: str  # an event's ce_id, a decision's id, or <decision id>/<seq>
    at_ms: int = 0
    audit: AuditEvent | None = None  # what was recorded (None for an event node)
    topic: str | None = None  # an event's
    type: str | None = None
    where: str | None = None  # an event's partition@offset, when a decision read it
    causation_id: str | None = None
    children: list[Node] = field(default_factory=list)


def build(events: list[AuditEvent]) -> list[Node]:
    """The roots of the tree of `events` (one correlation's, say), oldest first."""
    decisions = sorted((e for e in events if e.kind == DECISION), key=lambda e: (e.at_ms, e.seq))
    sides: dict[str, list[AuditEvent]] = {}
    for event in events:
        if event.kind in (STEP, LLM, ATTEMPT):
            sides.setdefault(event.decision_id, []).append(event)
    nodes: dict[str, Node] = {}  # events by ce_id
    parent_of: dict[str, Node] = {}  # an event's id -> the decision node that published it
    by_run: dict[str, Node] = {}  # a run id -> its latest decision node
    decision_nodes: list[tuple[Node, str | None]] = []
    for decision in decisions:
        node = Node(DECISION, decision.decision_id, decision.at_ms, decision)
        node.children = _steps(sides.get(decision.decision_id, []))
        for out in decision.outputs:
            child = _event(nodes, out.event_id, decision.at_ms)
            child.topic, child.type = child.topic or out.topic, child.type or out.type
            node.children.append(child)
            parent_of[out.event_id] = node
        if decision.run_id is not None:
            by_run[decision.run_id] = node
        given = decision.input
        decision_nodes.append((node, given.event_id if given is not None else None))
        if given is not None:
            handled = _event(nodes, given.event_id, decision.at_ms)
            handled.topic, handled.type = given.topic, given.type
            handled.where = f"[{given.partition}]@{given.offset}"
            handled.causation_id = handled.causation_id or given.causation_id
    roots: list[Node] = []
    for node, handled_id in decision_nodes:
        if handled_id is None:
            roots.append(node)
        else:
            nodes[handled_id].children.append(node)
    for event_id, node in nodes.items():
        if event_id in parent_of:
            continue  # already a child of the decision that published it
        cause = node.causation_id  # a run (its id is its starting event's), then an event
        if cause is not None and cause in by_run:
            by_run[cause].children.append(node)
        elif cause is not None and cause in nodes and cause != event_id:
            nodes[cause].children.append(node)
        else:
            roots.append(node)
    for node in [*nodes.values(), *(n for n, _ in decision_nodes)]:
        _order(node)
    return sorted(roots, key=lambda n: n.at_ms)


def _event(nodes: dict[str, Node], event_id: str, at_ms: int) -> Node:
    node = nodes.get(event_id)
    if node is None:
        node = nodes[event_id] = Node(EVENT, event_id, at_ms)
    return node


def _steps(sides: list[AuditEvent]) -> list[Node]:
    """Steps in order, each holding the LLM calls made in it (made before it ended)."""
    ordered = sorted(sides, key=lambda e: e.seq)
    nodes: list[Node] = []
    waiting: list[Node] = []  # LLM calls whose step has not ended yet
    for event in ordered:
        node = Node(event.kind, f"{event.decision_id}/{event.seq}", event.at_ms, event)
        if event.kind == LLM:
            waiting.append(node)
            continue
        if event.kind == ATTEMPT:  # a failed attempt, in its place among the steps
            nodes.append(node)
            continue
        name = event.step.name if event.step is not None else None
        mine = [n for n in waiting if n.audit and n.audit.llm and n.audit.llm.step == name]
        node.children = mine
        waiting = [n for n in waiting if n not in mine]
        nodes.append(node)
    return nodes + waiting  # calls made outside any step


def _order(node: Node) -> None:
    """A decision: its steps in order, then its outputs; an event: its decisions by time."""
    if node.kind == EVENT:
        node.children.sort(key=lambda n: n.at_ms)
        return
    steps = [n for n in node.children if n.kind != EVENT]
    events = [n for n in node.children if n.kind == EVENT]
    node.children = steps + events


def walk(roots: list[Node]) -> list[tuple[int, Node]]:
    """Every node with its depth, depth first, in order."""
    found: list[tuple[int, Node]] = []
    seen: set[int] = set()  # (ids that name each other as causes must not loop)
    pending = [(0, root) for root in reversed(roots)]
    while pending:
        depth, node = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        found.append((depth, node))
        pending.extend((depth + 1, child) for child in reversed(node.children))
    return found
