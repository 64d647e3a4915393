"""The hierarchy's pure parts: its bounds, its configuration, what a spawn reports."""

from __future__ import annotations

import pytest

from hivebus import ConfigError
from hivebus.patterns import ChildResult, ChildTask, HierarchyLimit, Spawned, Team
from hivebus.patterns.hierarchy.limits import check_spawn


def test_spawns_past_the_depth_or_the_fan_out_are_refused_naming_the_bound() -> None:
    check_spawn("t", "run-1", depth=3, count=16, max_depth=3, max_children=16)  # at the bounds
    with pytest.raises(HierarchyLimit, match=r"run run-1 .* depth 4, past max_depth=3"):
        check_spawn("t", "run-1", depth=4, count=1, max_depth=3, max_children=16)
    with pytest.raises(HierarchyLimit, match=r"spawn 17 children at once, past max_children=16"):
        check_spawn("t", "run-1", depth=1, count=17, max_depth=3, max_children=16)


def test_a_spawn_tells_ok_failed_and_missing_apart() -> None:
    def result(index: int, outcome: str) -> ChildResult:
        return ChildResult(parent_run="p", index=index, depth=1, outcome=outcome, output=f"{index}")

    spawned = Spawned([result(0, "ok"), None, result(2, "failed"), result(3, "ok")], ["c1"])
    assert (spawned.succeeded, spawned.failed, spawned.missing) == ([0, 3], [2], [1])
    assert spawned.outputs() == [0, 3]


def test_a_team_has_one_pooled_child_agent_and_one_child_function() -> None:
    team = Team("editors", max_depth=2)

    @team.child
    async def write(task: ChildTask, ctx: object) -> str:
        return "text"

    assert team.children.name == "editors.child" and team.children.durable
    assert team.children.subscriptions == ["editors.spawned"]
    assert team.children.calls == team.calls  # children may spawn their own
    with pytest.raises(ConfigError, match="has a child function already"):
        team.child(write)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"Team\.max_depth must be at least 1"):
        Team("t", max_depth=0)
