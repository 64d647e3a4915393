"""Views: the read models an agent reads, declared on it and queried through its Context.

`Agent(..., views=[risk])` says which read models its handlers read; `ctx.view("account-risk")`
hands one to a handler. The runtime knows views only by this small interface, so it never
imports the patterns that build them (a `hivebus.patterns.ReadModel` is one): it starts each
declared view with the agent and closes it with the agent, and a durable run journals every
read (hivebus.durable.views).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from hivebus.errors import ConfigError, HivebusError


@runtime_checkable
class View(Protocol):
    """What a handler reads: a state by key, a select over the states, and how far behind
    the view's changelog this process's replica is."""

    @property
    def name(self) -> str: ...

    async def get(self, key: str) -> Any: ...

    async def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]: ...

    def lag(self) -> int: ...


@runtime_checkable
class ViewReplica(View, Protocol):
    """A view as the runtime holds it for an agent: started with the agent (its replica
    begins following the changelog) and closed with it."""

    def start(self) -> None: ...

    def close(self) -> None: ...


class UndeclaredView(HivebusError):
    """A handler asked for a view its agent did not declare: an agent's views are part of
    what it is (the runtime keeps their replicas for it), so they are named up front."""

    def __init__(self, agent: str, name: str, declared: Iterable[str]) -> None:
        names = ", ".join(sorted(declared))
        has = f"it declares {names}" if names else "it declares none"
        super().__init__(
            f"agent {agent!r} reads view {name!r} without declaring it ({has}): add the read "
            f"model to Agent({agent!r}, views=[...])"
        )
        self.agent, self.view = agent, name


def declared(agent: str, views: Sequence[Any]) -> dict[str, ViewReplica]:
    """The agent's views by name; ConfigError for something that is not one, or a name
    given twice."""
    found: dict[str, ViewReplica] = {}
    for view in views:
        if not isinstance(view, ViewReplica):
            raise ConfigError(
                f"Agent.views of {agent!r} takes read models (a ReadModel, or anything with "
                f"name, get, query, lag, start and close), got {type(view).__name__}"
            )
        if view.name in found:
            raise ConfigError(f"Agent.views of {agent!r} names a view twice: {view.name!r}")
        found[view.name] = view
    return found


def find(views: Mapping[str, View], name: str, agent: str) -> View:
    view = views.get(name)
    if view is None:
        raise UndeclaredView(agent, name, views)
    return view


def start_all(views: Iterable[ViewReplica]) -> None:
    for view in views:
        view.start()


def close_all(views: Iterable[ViewReplica]) -> None:
    for view in views:
        view.close()
