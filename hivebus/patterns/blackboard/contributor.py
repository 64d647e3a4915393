"""A contributor: a plain agent, its own consumer group, that reacts to board versions.

Every contributor reads every version of every board from the state topic (each agent type
is its own group, so each sees them all), and its `react(state, ctx)` returns a post or
None. It reacts to the newest version it knows of: when it joins late, or gets a partition
back, it first reads the partition's snapshot and skips the older versions still in the
log (compaction removes them in time), so it answers the board as it is, not its history.
Its posts are its handler's output, keyed by board id, to the posts topic.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from hivebus.errors import ConfigError
from hivebus.patterns.blackboard.guards import Guards, as_post
from hivebus.patterns.blackboard.records import BoardState, Post
from hivebus.patterns.blackboard.store import BoardStore
from hivebus.runtime import Agent, Context

if TYPE_CHECKING:
    from hivebus.patterns.blackboard import Blackboard

ReactFn = Callable[[BoardState, Context], Awaitable[Post | None]]


def contributor_agent(
    board: Blackboard, name: str, react: ReactFn, options: dict[str, Any]
) -> Agent:
    if not inspect.iscoroutinefunction(react):
        raise ConfigError(f"the react= of contributor {name!r} must be an `async def` "
                          "taking (state, ctx)")  # fmt: skip
    if name == board.keeper.name:
        raise ConfigError(f"contributor name {name!r} is the board's keeper's; pick another")
    topics = board.topics
    log = logging.getLogger(f"hivebus.agent.{name}")
    store = BoardStore(topics.state, topics.state, log)
    guards = Guards(name, board.rules.max_hops, board.rules.close_kind)
    agent = Agent(
        name,
        topics=[*options.pop("topics", []), *board.topic_specs()],
        partition_hooks=[*options.pop("partition_hooks", []), store],
        **options,
    )

    @agent.on(topics.state, BoardState, output=topics.posts)
    async def on_version(state: BoardState, ctx: Context) -> Post | None:
        boards = await store.boards(ctx.partition, ctx.generation)
        known = boards.get(state.board_id)
        if known is not None and known.version > state.version:
            return None  # an older version: the board has moved on
        boards[state.board_id] = state
        if (reason := guards.skip_reason(state)) is not None:
            log.debug("not reacting to %s v%d: %s", state.board_id, state.version, reason)
            return None
        reaction = await react(state, ctx)
        if reaction is None:
            return None
        post = as_post(reaction, state, name)
        guards.posted(post)
        return post

    return agent
