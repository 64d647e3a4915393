"""The worker pools' pure parts: what a join reports, and configuration errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hivebus import ConfigError, Gathered
from hivebus.patterns import Joined, Workers, WorkItem, WorkResult


def _item(n: int) -> WorkItem:
    return WorkItem(id=f"t{n}", correlation_id="c", kind="k", input=json.dumps({"n": n}))


def _result(n: int, ok: bool = True) -> WorkResult:
    return WorkResult(id=f"t{n}", correlation_id="c", kind="k", worker="w", ok=ok,
                      output=json.dumps(n * 10), error="" if ok else "boom")  # fmt: skip


def test_a_join_tells_succeeded_failed_and_missing_apart() -> None:
    tasks = [_item(n) for n in range(4)]
    gathered = Gathered([_result(0), None, _result(2, ok=False), _result(3)], done=[0, 2, 3],
                        missing=[1])  # fmt: skip
    joined = Joined.of(tasks, gathered)
    assert (joined.succeeded, joined.failed, joined.missing) == ([0, 3], [2], [1])
    assert joined.outputs() == {"t0": 0, "t3": 30} and not joined.complete
    assert tasks[1].arguments() == {"n": 1}


def test_a_pool_names_its_topics_and_its_worker_runs_unordered() -> None:
    pool = Workers("research", partitions=2)

    async def search(arguments: Any, ctx: Any) -> None:
        return None

    worker = pool.worker("searcher", {"search": search})
    assert (pool.tasks_topic, pool.results_topic) == ("research.tasks", "research.results")
    assert worker.subscriptions == ["research.tasks"] and worker.ordering == "unordered"
    assert pool.calls[0].reply_topic == "research.results"
    assert {s.name: s.partitions for s in pool.topic_specs()} == {
        "research.tasks": 2, "research.results": 2
    }  # fmt: skip


def test_bad_worker_declarations_are_refused_clearly() -> None:
    pool = Workers("p")
    with pytest.raises(ConfigError, match="handles no kind"):
        pool.worker("w", {})

    def sync(arguments: Any, ctx: Any) -> None:
        return None

    with pytest.raises(ConfigError, match=r"handles\['k'\] of worker 'w' must be an `async def`"):
        pool.worker("w", {"k": sync})  # type: ignore[dict-item]
    with pytest.raises(ConfigError, match=r"Workers\.partitions"):
        Workers("p", partitions=0)
