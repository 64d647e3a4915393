"""The loop guards of a contributor, and how its reaction becomes a post.

A board version carries the author and hop of the post that made it. A contributor does
not react to a closed board, nor to a version whose hop is already the limit (its post
would be refused: no reaction is spent on it), nor to a version its own post made: it would
answer itself. Nor, while its own post is still on its way to the board, to versions that
lack it: it would post the same again, not having seen itself. Once its post is on the
board it reacts to the next version by someone else.

Its post is based on the version it reacted to and is one hop further; its id is the
author and that version, so a reaction repeated after a redelivery is applied once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hivebus.patterns.blackboard.records import BoardState, Post


@dataclass
class Guards:
    """One contributor's guards, with its posts still in flight, by board."""

    agent: str
    max_hops: int
    close_kind: str = "close"
    in_flight: dict[str, str] = field(default_factory=dict)  # board id -> post id

    def skip_reason(self, state: BoardState) -> str | None:
        """Why the agent does not react to this version (None: it does)."""
        if state.closed:
            self.in_flight.pop(state.board_id, None)
            return "closed"
        if (waiting := self.in_flight.get(state.board_id)) is not None:
            if not any(entry.post_id == waiting for entry in state.entries):
                return "its own post is not on the board yet"
            del self.in_flight[state.board_id]
        if state.last_author == self.agent:
            return "its own post"
        if state.hop >= self.max_hops:
            return f"hop limit {self.max_hops} reached"
        return None

    def posted(self, post: Post) -> None:
        """A post is on its way. (A close is not waited for: it closes the board, or it is
        refused as stale and the agent closes again from a newer version.)"""
        if post.kind != self.close_kind:
            self.in_flight[post.board_id] = post.post_id


def as_post(reaction: Post, state: BoardState, agent: str) -> Post:
    """The reaction, stamped: on this board and version, by this agent, one hop further."""
    return reaction.model_copy(update={
        "board_id": state.board_id, "author": agent, "based_on_version": state.version,
        "hop": state.hop + 1, "post_id": f"{agent}@{state.version}",
    })  # fmt: skip


def reply(kind: str, content: str = "") -> Post:
    """What a `react` returns: a post of `kind`; the board, author, version and hop are
    filled in from the version it reacts to."""
    return Post(board_id="", author="", kind=kind, content=content)
