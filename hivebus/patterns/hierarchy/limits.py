"""The bounds of a hierarchy: how deep children may nest and how many one spawn may make.

A runaway agent that spawns children that spawn children is the classic failure of this
pattern; the bound is checked before anything is sent, and the error says which bound, the
value that broke it, and the run that tried.
"""

from __future__ import annotations

from hivebus.runtime.middlewares.dead_letters import NonRetryableError


class HierarchyLimit(NonRetryableError):
    """A spawn went past `max_depth` or `max_children`: not retried (it would only fail
    again); a child that hits it answers its parent as failed, with this message."""


def check_spawn(team: str, run_id: str, depth: int, count: int, max_depth: int,
                max_children: int) -> None:  # fmt: skip
    if depth > max_depth:
        raise HierarchyLimit(
            f"team {team!r}: run {run_id} tried to spawn children at depth {depth}, past "
            f"max_depth={max_depth}; stop recursing earlier, or raise Team(max_depth=...)"
        )
    if count > max_children:
        raise HierarchyLimit(
            f"team {team!r}: run {run_id} tried to spawn {count} children at once, past "
            f"max_children={max_children}; batch them, or raise Team(max_children=...)"
        )
