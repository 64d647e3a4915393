"""Multi-agent patterns, each built only from agents, publishing and durable runs.

- `Market`: opportunities auctioned to bidding agents, exactly one award each.
- `Workers`: Orchestrator-Worker, tasks handed to pools of worker types and joined.
- `Tools`: parallel tool fan-out, tool calls run side by side and joined into partial results.
- `Team`: hierarchical agents, ephemeral child runs of one pooled agent, bounded, orphans
  cancelled.
- `Saga`: steps with compensating actions, undone in reverse order on a failure; an optional
  LLM chooses how (the step declarations are in `hivebus.patterns.saga`).
- `Blackboard`: agents react to a shared, versioned board until a writer or a condition
  closes it.
- `ReadModel`: read models (CQRS) for agent context, events folded into an embedded store
  that any replica restores from a compacted changelog.
- `detector`: proactive agents, anomalies in a metrics stream published for agents to act on.
"""

from hivebus.patterns.blackboard import (
    Blackboard,
    BoardState,
    BoardTopics,
    Entry,
    Post,
    Refusal,
    reply,
)
from hivebus.patterns.fanout import ToolCall, ToolResults, Tools
from hivebus.patterns.hierarchy import ChildResult, ChildTask, HierarchyLimit, Spawned, Team
from hivebus.patterns.market import (
    Award,
    AwardAnswer,
    AwardOffer,
    Bid,
    Market,
    MarketTopics,
    Opportunity,
)
from hivebus.patterns.proactive import AnomalyDetected, ZScore, detector
from hivebus.patterns.readmodel import ReadModel, ViewEntry
from hivebus.patterns.saga import Saga, SagaOutcome
from hivebus.patterns.workers import Joined, Workers, WorkItem, WorkResult

__all__ = [
    "AnomalyDetected",
    "Award",
    "AwardAnswer",
    "AwardOffer",
    "Bid",
    "Blackboard",
    "BoardState",
    "BoardTopics",
    "ChildResult",
    "ChildTask",
    "Entry",
    "HierarchyLimit",
    "Joined",
    "Market",
    "MarketTopics",
    "Opportunity",
    "Post",
    "ReadModel",
    "Refusal",
    "Saga",
    "SagaOutcome",
    "Spawned",
    "Team",
    "ToolCall",
    "ToolResults",
    "Tools",
    "ViewEntry",
    "WorkItem",
    "WorkResult",
    "Workers",
    "ZScore",
    "detector",
    "reply",
]
