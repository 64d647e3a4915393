"""The blackboard's pure parts: applying posts to versions (rebase, the close's
compare-and-set, repeats), the loop guards, folding a log, and its configuration."""

from __future__ import annotations

from typing import Any

import pytest

from hivebus import ConfigError, Context
from hivebus.patterns.blackboard import Blackboard, BoardState, Post, reply
from hivebus.patterns.blackboard.guards import Guards, as_post
from hivebus.patterns.blackboard.rules import Rules, apply, fold

RULES = Rules(max_hops=3, closers=frozenset({"writer"}), keeper="b.keeper")


def _post(author: str, kind: str = "note", based_on: int = 0, hop: int = 0) -> Post:
    return Post(board_id="b1", author=author, kind=kind, content=f"{author} says",
                based_on_version=based_on, hop=hop)  # fmt: skip


def _board(*posts: Post, rules: Rules = RULES) -> BoardState:
    board, _ = fold("b1", [(f"p{i}", post) for i, post in enumerate(posts)], rules)
    return board


def test_the_first_post_opens_the_board_at_version_one() -> None:
    outcome = apply(None, _post("pager", "alert"), RULES, "p0")
    assert outcome.state is not None and outcome.refusal is None
    assert (outcome.state.version, outcome.state.status, outcome.state.last_author) == (
        1, "open", "pager",
    )  # fmt: skip
    [entry] = outcome.state.entries
    assert (entry.post_id, entry.version, entry.based_on_version) == ("p0", 1, 0)


def test_two_writers_on_the_same_version_both_land_the_second_rebased() -> None:
    board = _board(_post("pager", "alert"))
    first = apply(board, _post("logs", based_on=1, hop=1), RULES, "a").state
    assert first is not None
    second = apply(first, _post("metrics", based_on=1, hop=1), RULES, "b").state
    assert second is not None and second.version == 3
    assert [(e.author, e.version, e.based_on_version) for e in second.entries[1:]] == [
        ("logs", 2, 1), ("metrics", 3, 1),  # metrics read v1 and was appended after logs
    ]  # fmt: skip


def test_a_repeated_post_id_is_applied_once() -> None:
    board = _board(_post("pager", "alert"))
    again = apply(board, _post("pager", "alert"), RULES, "p0")
    assert again.duplicate and again.state is None and again.refusal is None


def test_a_post_past_the_hop_limit_is_refused_with_the_reason() -> None:
    board = _board(_post("pager", "alert"))
    outcome = apply(board, _post("echo", based_on=1, hop=4), RULES, "x")
    assert outcome.state is None and outcome.refusal is not None
    assert outcome.refusal.code == "hop_limit" and "hop limit of 3" in outcome.refusal.reason
    assert apply(board, _post("echo", based_on=1, hop=3), RULES, "y").state is not None


def test_a_close_must_be_based_on_the_current_version_and_by_a_closer() -> None:
    board = _board(_post("pager", "alert"), _post("logs", based_on=1))  # at v2
    stale = apply(board, _post("writer", "close", based_on=1), RULES, "c1").refusal
    assert stale is not None and stale.code == "stale" and stale.version == 2
    stranger = apply(board, _post("logs", "close", based_on=2), RULES, "c2").refusal
    assert stranger is not None and stranger.code == "not_a_closer"
    closed = apply(board, _post("writer", "close", based_on=2), RULES, "c3").state
    assert closed is not None and closed.closed
    assert (closed.version, closed.closed_by, closed.conclusion) == (3, "writer", "writer says")


def test_a_closed_board_refuses_every_later_post() -> None:
    board = _board(_post("pager", "alert"), _post("writer", "close", based_on=1))
    refusal = apply(board, _post("logs", based_on=2), RULES, "late").refusal
    assert refusal is not None and refusal.code == "closed" and "closed by writer" in refusal.reason


def test_a_post_based_on_a_version_never_reached_is_refused() -> None:
    refusal = apply(_board(_post("pager", "alert")), _post("x", based_on=9), RULES, "z").refusal
    assert refusal is not None and refusal.code == "stale" and "never" in refusal.reason


def test_the_completion_condition_closes_the_board_as_the_keeper() -> None:
    rules = Rules(closes_when=lambda s: "enough" if len(s.entries) >= 2 else None, keeper="k")
    board = _board(_post("pager", "alert"), _post("logs", based_on=1), rules=rules)
    assert (board.status, board.closed_by, board.conclusion, board.version) == (
        "closed", "k", "enough", 2,
    )  # fmt: skip


def test_fold_counts_refusals_and_skips_other_boards() -> None:
    other = Post(board_id="b2", author="x", kind="note")
    posts = [("p0", _post("pager", "alert")), ("o", other), ("p1", _post("e", hop=9))]
    board, refusals = fold("b1", posts, RULES)
    assert board.version == 1 and [r.code for r in refusals] == ["hop_limit"]


def test_a_contributor_skips_its_own_posts_closed_boards_and_the_hop_limit() -> None:
    board = _board(_post("pager", "alert"), _post("logs", based_on=1, hop=1))
    assert Guards("logs", 3).skip_reason(board) == "its own post"
    assert Guards("metrics", 3).skip_reason(board) is None
    at_limit = board.model_copy(update={"hop": 3})
    assert Guards("metrics", 3).skip_reason(at_limit) == "hop limit 3 reached"
    closed = board.model_copy(update={"status": "closed"})
    assert Guards("metrics", 3).skip_reason(closed) == "closed"


def test_a_contributor_waits_for_its_own_post_before_reacting_again() -> None:
    guards = Guards("metrics", 5)
    v1 = _board(_post("pager", "alert"))
    assert guards.skip_reason(v1) is None
    guards.posted(as_post(reply("metrics", "cpu"), v1, "metrics"))  # metrics@1, on its way
    v2 = _board(_post("pager", "alert"), _post("logs", based_on=1, hop=1))
    assert guards.skip_reason(v2) == "its own post is not on the board yet"
    v3, _ = fold("b1", [("p0", _post("pager", "alert")), ("p1", _post("logs", based_on=1, hop=1)),
                        ("metrics@1", _post("metrics", based_on=1, hop=1))], RULES)  # fmt: skip
    assert guards.skip_reason(v3) == "its own post"  # on the board: waiting is over
    v4 = v3.model_copy(update={"version": 4, "last_author": "hypothesis", "hop": 2})
    assert guards.skip_reason(v4) is None
    guards.posted(as_post(reply("close", "done"), v4, "metrics"))  # a close is not waited for
    assert guards.skip_reason(v4) is None


def test_a_reaction_is_based_on_the_version_it_read_one_hop_further() -> None:
    board = _board(_post("pager", "alert"), _post("logs", based_on=1, hop=1))
    post = as_post(reply("metrics", "cpu 99%"), board, "metrics")
    assert (post.board_id, post.author, post.based_on_version, post.hop, post.post_id) == (
        "b1", "metrics", 2, 2, "metrics@2",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("options", "field"),
    [({"max_hops": 0}, "max_hops"), ({"partitions": 0}, "partitions"),
     ({"max_in_flight": 0}, "max_in_flight"), ({"close_kind": ""}, "close_kind"),
     ({"closers": []}, "closers"), ({"closers": "writer"}, "closers"),
     ({"closes_when": "yes"}, "closes_when"), ({"guarantee": "maybe"}, "guarantee")],
)  # fmt: skip
def test_bad_blackboard_settings_are_refused_naming_the_field(
    options: dict[str, Any], field: str
) -> None:
    with pytest.raises(ConfigError, match=f"Blackboard.{field}"):
        Blackboard("b", **options)


def test_a_contributor_must_be_async_and_not_named_as_the_keeper() -> None:
    def react(state: BoardState, ctx: Context) -> None:
        return None

    async def fine(state: BoardState, ctx: Context) -> Post | None:
        return None

    board = Blackboard("b")
    with pytest.raises(ConfigError, match="react= of contributor 'x' must be an `async def`"):
        board.contributor("x", react)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="is the board's keeper's"):
        board.contributor("b.keeper", fine)


def test_a_blackboard_names_its_topics_its_keeper_and_compacts_its_state() -> None:
    board = Blackboard("incidents", partitions=4)
    assert board.keeper.name == "incidents.keeper" and board.keeper.exactly_once
    assert board.keeper.subscriptions == ["incidents.posts"]
    specs = {spec.name: spec for spec in board.topic_specs()}
    assert {name: spec.partitions for name, spec in specs.items()} == {
        f"incidents.{t}": 4 for t in ("posts", "state", "refusals")
    }
    assert specs["incidents.state"].config == {"cleanup.policy": "compact"}

    async def react(state: BoardState, ctx: Context) -> Post | None:
        return None

    logs = board.contributor("incident-logs", react, max_in_flight=8)
    assert logs.subscriptions == ["incidents.state"] and logs.max_in_flight == 8
    assert [h.output for h in logs.handlers] == ["incidents.posts"]
