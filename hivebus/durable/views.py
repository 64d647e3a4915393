"""Views read in a durable run: each `get` and `query` is a step named `hivebus:view:<name>`.

A read model moves on while a run waits, and a run is replayed after every wait and every
crash. Journaling the reads makes the replay see what the first execution saw, so a
decision taken from a view is taken the same way again. Rows are kept as JSON arrays and
handed back as tuples both times, as the live store answers them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from hivebus.runtime.views import View

PREFIX = "hivebus:view:"


class Steps(Protocol):
    """What a journaled view needs of the durable context: its `step`."""

    async def step(self, name: str, fn: Callable[..., Awaitable[Any] | Any], *args: Any) -> Any: ...


class JournaledView:
    """A view as a durable handler sees it (`ctx.view(name)` in a durable run)."""

    def __init__(self, steps: Steps, view: View) -> None:
        self._steps, self._view = steps, view
        self._step = f"{PREFIX}{view.name}"

    @property
    def name(self) -> str:
        return self._view.name

    async def get(self, key: str) -> Any:
        return await self._steps.step(self._step, self._view.get, key)

    async def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        rows = await self._steps.step(self._step, _rows, self._view, sql, params)
        return [tuple(row) for row in rows]

    def lag(self) -> int:
        """How far this process's replica is behind, now: a report, not journaled (decide
        from what `get` and `query` answer, not from it)."""
        return self._view.lag()


async def _rows(view: View, sql: str, params: tuple[Any, ...]) -> list[list[Any]]:
    return [list(row) for row in await view.query(sql, *params)]
