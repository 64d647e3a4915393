"""Read models (CQRS) for agent context: events folded into current state, kept in an
embedded store that any agent's handlers query, restorable on any replica from Kafka.

```
source events ──▶ <view>.projector (exactly-once) ── fold(state, event) ──▶ hivebus.view.<view>
                                                                            (compacted changelog)
any process:  replica thread ◀── whole changelog ── SQLite ◀── ctx.view(name).get(key) / .query(sql)
```

The projector keeps one writer per key (sources keyed by the entity), folds each event into
the entity's state and publishes the new state, versioned, to the changelog in the same
transaction as the event's offset. Every agent that reads the model declares it
(`Agent(..., views=[model])`) and queries it through its Context; its process holds a
replica, started with the agent: restored from the changelog, then followed. See
docs/patterns/readmodel.md.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from hivebus.contracts import Record
from hivebus.errors import ConfigError
from hivebus.kafka.admin import TopicSpec
from hivebus.patterns.readmodel.records import ViewEntry
from hivebus.patterns.readmodel.replica import Replica
from hivebus.patterns.readmodel.store import Store
from hivebus.runtime import Agent, Context
from hivebus.runtime.agent import HeldPartition

__all__ = ["ReadModel", "ViewEntry"]

E = TypeVar("E", bound=Record)
Fold = Callable[[Any, E], Any]  # (current state or None, event) -> new state (None removes)


class ReadModel:
    """A read model named `name`: declare its folds with `@view.on(topic, Event, key=...)`,
    run `view.projector` (an agent) where events arrive, and give it to the agents that read
    it (`Agent(..., views=[view])`): their handlers query `ctx.view(name)`. It is a
    `hivebus.runtime.views.ViewReplica`: each agent holding it starts it and closes it."""

    def __init__(self, name: str, *, partitions: int = 6, store_path: str = ":memory:") -> None:
        if partitions < 1:
            raise ConfigError(f"ReadModel.partitions must be at least 1, got {partitions}")
        self.name = name
        self.topic = f"hivebus.view.{name}"
        self.store = Store(store_path)
        self.replica = Replica(name, self.topic, self.store)
        self._holders = 0  # the agents of this process holding the replica open
        compacted = {"cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.1"}
        self.projector = Agent(
            f"{name}.projector", guarantee="exactly_once",
            description=f"Folds events into read model {name!r}",
            topics=[TopicSpec(self.topic, partitions=partitions, config=compacted)],
            views=[self],  # it reads its own states before each fold
        )  # fmt: skip
        self.projector.partition_hooks.append(_Refresh(self.replica))

    def on(
        self, topic: str, event_type: type[E], *, key: Callable[[E], str]
    ) -> Callable[[Fold[E]], Fold[E]]:
        """Fold `event_type` events of `topic` into the state of the entity `key(event)`
        names. The fold is a pure function `(state or None, event) -> new state` (JSON-able;
        None removes the entity); publish the events keyed by that same entity."""

        def register(fold: Fold[E]) -> Fold[E]:
            async def project(event: E, ctx: Context) -> None:
                if self.replica.stale:  # newly assigned: the previous owner's last states first
                    await self.replica.fresh()
                    self.replica.stale = False
                await self._apply(key(event), fold, event, ctx)

            project.__name__ = getattr(fold, "__name__", "project")
            self.projector.on(topic, event_type)(project)
            return fold

        return register

    async def _apply(self, entity: str, fold: Fold[Any], event: Any, ctx: Context) -> None:
        found = self.store.entry(entity)
        state, version = found if found is not None else (None, 0)
        new = fold(state, event)
        if found is not None and new == state:
            return  # nothing changed: no new version
        text = json.dumps(new) if new is not None else None
        entry = ViewEntry(key=entity, value=text, version=version + 1,
                          updated_at=datetime.now(UTC).isoformat())  # fmt: skip
        self.store.put(entry.key, entry.value, entry.version, entry.updated_at)  # read own writes
        await ctx.publish(self.topic, entry, key=entity)

    async def get(self, key: str) -> Any:
        """The current state of `key` (None when it has none), from this process's replica;
        the first call waits until the replica has caught up with the changelog."""
        await self._ready()
        found = self.store.entry(key)
        return found[0] if found is not None else None

    async def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """A select over `entries(key, value, version, updated_at)`, the state as JSON in
        `value` (`json_extract(value, '$.risk')`)."""
        await self._ready()
        return self.store.query(sql, tuple(params))

    def lag(self) -> int:
        """How many changelog records this replica has not read yet (also the gauge
        `hivebus_read_model_lag{view}`)."""
        return self.replica.lag

    def start(self) -> None:
        """Follow the changelog for one more holder (an agent starting that reads it)."""
        self._holders += 1
        self.replica.start()

    def close(self) -> None:
        """One holder less; with none left, stop following the changelog (the replica's
        thread ends, the store keeps what it read)."""
        self._holders = max(self._holders - 1, 0)
        if self._holders == 0:
            self.replica.stop()

    async def _ready(self) -> None:
        if not self.replica.caught_up:
            await self.replica.fresh()


class _Refresh:
    """Partition hooks of the projector: after an assignment, the next fold waits for the
    replica to have read the changelog to its end (the previous owner's last states)."""

    def __init__(self, replica: Replica) -> None:
        self.replica = replica

    def assigned(self, partitions: list[HeldPartition]) -> None:
        self.replica.stale = True  # (the replica runs: the projector holds its own view)

    def revoked(self, partitions: list[HeldPartition]) -> None:
        return None
