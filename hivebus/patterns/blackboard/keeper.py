"""The keeper: the one writer of a board's versions.

Posts are keyed by board id, so each board lives on one partition of the posts topic and one
keeper instance (the partition's owner in the keeper's group) applies its posts, one at a
time, in log order. That serializes every read-modify-write of a board without locks: each
post is applied to the version the keeper holds (see rules.py) and the next version goes to
the compacted state topic under the board id, or a refusal goes back to its author.

In exactly-once mode (the default) the new version commits in the same transaction as the
post's offset, so a keeper killed at any moment leaves no version written twice or skipped:
its successor restores the committed versions and re-applies the posts after them. In
at-least-once mode a post applied just before a crash comes again and is recognised by its
post id, so versions stay gap-free there too.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from hivebus.patterns.blackboard.records import Post, Refusal
from hivebus.patterns.blackboard.rules import Outcome, Rules, apply
from hivebus.patterns.blackboard.store import BoardStore
from hivebus.runtime import Agent, Context

if TYPE_CHECKING:
    from hivebus.patterns.blackboard import Blackboard


def misrouted(post: Post, key: str | None, post_id: str, version: int) -> Outcome:
    """A post not keyed by its board id would be applied by whichever keeper owns its key's
    partition, beside the board's own keeper: refused, so a board has one writer."""
    return Outcome(refusal=Refusal(
        board_id=post.board_id, post_id=post_id, author=post.author, kind=post.kind,
        code="misrouted", version=version, hop=post.hop,
        reason=f"a post to board {post.board_id!r} must be keyed by its board id, not {key!r}",
    ))  # fmt: skip


def keeper_agent(board: Blackboard, rules: Rules, guarantee: str, max_in_flight: int) -> Agent:
    topics = board.topics
    log = logging.getLogger(f"hivebus.agent.{rules.keeper}")
    store = BoardStore(topics.state, topics.posts, log, check=True)
    agent = Agent(
        rules.keeper,
        description=f"Keeps the boards of blackboard {board.name!r}: applies each post as the "
                    "next version, or refuses it",
        guarantee=guarantee, max_in_flight=max_in_flight, topics=board.topic_specs(),
        partition_hooks=[store], publishes=[topics.state, topics.refusals],
    )  # fmt: skip

    @agent.on(topics.posts, Post)
    async def keep(post: Post, ctx: Context) -> None:
        boards = await store.boards(ctx.partition, ctx.generation)
        post_id = post.post_id or ctx.event_id
        held = boards.get(post.board_id)
        if ctx.key != post.board_id:
            outcome = misrouted(post, ctx.key, post_id, held.version if held else 0)
        else:
            outcome = apply(held, post, rules, post_id)
        if outcome.refusal is not None:
            log.info("refused %s's %s post to %s: %s", post.author, post.kind, post.board_id,
                     outcome.refusal.reason)  # fmt: skip
            await ctx.publish(topics.refusals, outcome.refusal, key=post.board_id)
        if outcome.state is not None:
            await ctx.publish(topics.state, outcome.state, key=post.board_id)
            boards[post.board_id] = outcome.state  # once the write is queued with the post

    return agent
