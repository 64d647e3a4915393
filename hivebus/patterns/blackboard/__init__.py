"""Blackboard: agents cooperate on a shared board, each reacting to what the others posted.

```
writer ──Post──▶ <board>.posts    ──▶ keeper (one per board: its partition's owner)
                 <board>.state    ◀── BoardState, each version, compacted (key = board id)
                 <board>.refusals ◀── Refusal: a post the board did not take, and why
contributors ◀── <board>.state: each reacts with a Post (or not) ──▶ <board>.posts
```

Every topic is keyed by the board id; posts and state have the same number of partitions,
so a board's posts and versions share a partition number. See docs/patterns/blackboard.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from hivebus.contracts import Serde, registry_client
from hivebus.errors import ConfigError
from hivebus.kafka.admin import TopicSpec
from hivebus.patterns.blackboard.contributor import ReactFn, contributor_agent
from hivebus.patterns.blackboard.guards import reply
from hivebus.patterns.blackboard.keeper import keeper_agent
from hivebus.patterns.blackboard.records import BoardState, Entry, Post, Refusal
from hivebus.patterns.blackboard.rules import ClosesWhen, Rules, fold
from hivebus.patterns.blackboard.snapshot import read_boards
from hivebus.runtime import Agent
from hivebus.runtime.agent import GUARANTEES

__all__ = ["Blackboard", "BoardState", "BoardTopics", "Entry", "Post", "Refusal", "reply"]


@dataclass(frozen=True)
class BoardTopics:
    posts: str
    state: str
    refusals: str

    @classmethod
    def of(cls, name: str) -> BoardTopics:
        return cls(f"{name}.posts", f"{name}.state", f"{name}.refusals")


class Blackboard:
    """A blackboard: its keeper agent (`board.keeper`), its topics, and `contributor()` to
    declare the agents that react to it. Any post opens a board by its id.

    - `max_hops`: how long a chain of reactions may get (a post at a greater hop is refused,
      and contributors do not react past it), so agents answering each other stop.
    - `close_kind`: the kind of post that closes a board, its content the conclusion;
      `closers` limits who may post it (anyone by default).
    - `closes_when(state)`: a completion condition checked after every post; a conclusion
      (not None) closes the board, closed by the keeper.
    - `guarantee`: the keeper's; `exactly_once` (the default) commits each version with its
      post's offset.
    """

    def __init__(
        self,
        name: str,
        *,
        max_hops: int = 8,
        close_kind: str = "close",
        closers: Iterable[str] | None = None,
        closes_when: ClosesWhen | None = None,
        partitions: int = 6,
        guarantee: str = "exactly_once",
        max_in_flight: int = 256,
    ) -> None:
        for field, bound in (("max_hops", max_hops), ("partitions", partitions),
                             ("max_in_flight", max_in_flight)):  # fmt: skip
            if not (isinstance(bound, int) and bound >= 1):
                raise ConfigError(f"Blackboard.{field} must be an int of at least 1, got {bound!r}")
        if not (isinstance(close_kind, str) and close_kind):
            raise ConfigError(f"Blackboard.close_kind must be a non-empty str, got {close_kind!r}")
        if isinstance(closers, str):
            raise ConfigError(
                f"Blackboard.closers must be a list of agent names, not the str {closers!r}"
            )
        allowed = None if closers is None else frozenset(closers)
        if allowed is not None and not allowed:
            raise ConfigError(
                "Blackboard.closers must name at least one closer (or be None: anyone)"
            )
        if closes_when is not None and not callable(closes_when):
            raise ConfigError(
                f"Blackboard.closes_when must be a function of the state, got {closes_when!r}"
            )
        if guarantee not in GUARANTEES:
            raise ConfigError(
                f"Blackboard.guarantee must be one of {', '.join(GUARANTEES)}, got {guarantee!r}"
            )
        self.name, self.partitions = name, partitions
        self.topics = BoardTopics.of(name)
        self.rules = Rules(max_hops, close_kind, allowed, closes_when, keeper=f"{name}.keeper")
        self.keeper = keeper_agent(self, self.rules, guarantee, max_in_flight)

    def topic_specs(self) -> list[TopicSpec]:
        t, n = self.topics, self.partitions
        compacted = {"cleanup.policy": "compact"}
        return [
            TopicSpec(t.posts, partitions=n),
            TopicSpec(t.state, partitions=n, config=compacted),
            TopicSpec(t.refusals, partitions=n),
        ]

    def contributor(self, name: str, react: ReactFn, **agent_options: Any) -> Agent:
        """A contributing agent named `name` (its consumer group): `react(state, ctx)` is
        called with each board version it should answer and returns a post (`reply(kind,
        content)`) or None. It is not called for its own posts, closed boards or past the hop
        limit, nor while its own post is on its way to the board. `agent_options` go to its
        `Agent` (max_in_flight, retry, ...)."""
        return contributor_agent(self, name, react, dict(agent_options))

    async def snapshot(self, serde: Serde | None = None) -> dict[str, BoardState]:
        """Every board as it is now (its newest committed version), read from the state
        topic: what a late joiner reads instead of the posts log."""
        reader = serde or Serde(registry_client())
        return await asyncio.to_thread(read_boards, reader, self.topics.state)

    def fold(
        self, board_id: str, posts: Iterable[tuple[str, Post]]
    ) -> tuple[BoardState, list[Refusal]]:
        """The board `board_id` after the (post id, post) pairs of a posts log, in order, with
        this blackboard's rules: what the keeper's newest version equals."""
        return fold(board_id, posts, self.rules)
