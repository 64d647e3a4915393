"""Read-modify-write of one board: how the keeper applies a post to the version it holds.

Pure functions, so the keeper, a test and anyone folding the posts log compute the same
board. Posts are appended: a post based on an older version than the board's is *rebased*,
appended after the entries its author had not seen (its entry keeps the version it read),
so two writers posting on the same version both land, one after the other. Only a close is
a compare-and-set: it must be based on the current version, because a conclusion drawn
from a board that has since moved on may be wrong; a stale close is refused and its author,
who reacts to the newer version anyway, can close again from there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from hivebus.patterns.blackboard.records import CLOSED, OPEN, BoardState, Entry, Post, Refusal

ClosesWhen = Callable[[BoardState], str | None]  # the conclusion, once the board is done


@dataclass(frozen=True)
class Rules:
    """What a board takes: the hop limit, its closing post kind and who may close it, and a
    completion condition the keeper checks after every post."""

    max_hops: int = 8
    close_kind: str = "close"
    closers: frozenset[str] | None = None  # None: anyone may close
    closes_when: ClosesWhen | None = None
    keeper: str = "keeper"  # closed_by, when `closes_when` closes the board


@dataclass(frozen=True)
class Outcome:
    """What a post did: a new version, a refusal, or nothing (a repeated post)."""

    state: BoardState | None = None
    refusal: Refusal | None = None

    @property
    def duplicate(self) -> bool:
        return self.state is None and self.refusal is None


def empty(board_id: str) -> BoardState:
    """A board no post has reached yet: version 0."""
    return BoardState(board_id=board_id, version=0, status=OPEN)


def apply(state: BoardState | None, post: Post, rules: Rules, post_id: str) -> Outcome:
    """The post applied to `state` (None: the board does not exist yet, the post opens it)."""
    board = state or empty(post.board_id)
    if any(entry.post_id == post_id for entry in board.entries):
        return Outcome()  # redelivered, or posted twice: applied once
    if problem := _refused(board, post, rules):
        code, reason = problem
        return Outcome(refusal=Refusal(
            board_id=board.board_id, post_id=post_id, author=post.author, kind=post.kind,
            code=code, reason=reason, version=board.version, hop=post.hop,
        ))  # fmt: skip
    version = board.version + 1
    entry = Entry(
        post_id=post_id, author=post.author, kind=post.kind, content=post.content,
        version=version, based_on_version=post.based_on_version, hop=post.hop,
    )  # fmt: skip
    after = board.model_copy(update={
        "version": version, "entries": [*board.entries, entry], "last_author": post.author,
        "hop": post.hop,
    })  # fmt: skip
    if post.kind == rules.close_kind:
        return Outcome(_closed(after, post.author, post.content))
    if rules.closes_when is not None and (conclusion := rules.closes_when(after)) is not None:
        return Outcome(_closed(after, rules.keeper, conclusion))
    return Outcome(after)


def _refused(board: BoardState, post: Post, rules: Rules) -> tuple[str, str] | None:
    if board.status == CLOSED:
        return "closed", (f"board {board.board_id!r} was closed by {board.closed_by} at version "
                          f"{board.version}; it takes no more posts")  # fmt: skip
    if post.hop > rules.max_hops:
        return "hop_limit", (f"hop {post.hop} is past the board's hop limit of {rules.max_hops}: "
                             "a chain of reactions that long is taken for a loop")  # fmt: skip
    if post.based_on_version > board.version:
        return "stale", (f"based on version {post.based_on_version}, which the board never "
                         f"reached (it is at {board.version})")  # fmt: skip
    if post.kind != rules.close_kind:
        return None
    if rules.closers is not None and post.author not in rules.closers:
        allowed = ", ".join(sorted(rules.closers))
        return "not_a_closer", f"{post.author} may not close the board (only {allowed} may)"
    if post.based_on_version != board.version:
        return "stale", (f"a close must be based on the current version: it read version "
                         f"{post.based_on_version}, the board is at {board.version}; read it "
                         "again and close from there")  # fmt: skip
    return None


def _closed(state: BoardState, by: str, conclusion: str) -> BoardState:
    return state.model_copy(update={"status": CLOSED, "closed_by": by, "conclusion": conclusion})


def fold(
    board_id: str, posts: Iterable[tuple[str, Post]], rules: Rules
) -> tuple[BoardState, list[Refusal]]:
    """The board after every (post id, post) of its log in order, and the refusals: what
    the keeper's newest state must equal, however often it was restarted on the way."""
    board, refusals = empty(board_id), []
    for post_id, post in posts:
        if post.board_id != board_id:
            continue
        outcome = apply(board, post, rules, post_id)
        board = outcome.state or board
        if outcome.refusal is not None:
            refusals.append(outcome.refusal)
    return board, refusals
