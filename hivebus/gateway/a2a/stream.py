"""The SDK's `TaskEventStream`, read from Kafka: a task's events come from its run's journal.

Publishing is nothing to do: the events a replica's executor sends are those the journal
already holds, and every other replica derives them from it too. Subscribing follows the
run's journal on this replica's follower of it and yields each A2A event after the version
asked for, so a client that resubscribes on any replica, after any other one died, is sent
exactly what it has not seen.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

from a2a.server.cluster import TaskEventStream, TaskVersion, VersionedEvent

from hivebus.gateway.a2a.calls import Bound
from hivebus.gateway.a2a.reading import events_after, known_task
from hivebus.gateway.a2a.translate import FollowUp


class JournalEventStream(TaskEventStream):
    def __init__(self, bound: Bound) -> None:
        self._bound = bound

    async def publish(self, task_id: str, event: VersionedEvent) -> None:
        """Nothing: the journal is the log every replica reads."""

    async def subscribe(
        self, task_id: str, *, after: TaskVersion
    ) -> AsyncGenerator[VersionedEvent, None]:
        gateway = self._bound.gateway
        task = await known_task(gateway, task_id, None)
        async for versioned in events_after(gateway, task, after):
            if not isinstance(versioned.event, FollowUp):
                yield VersionedEvent(event=versioned.event, version=TaskVersion(versioned.version))

    async def destroy(self, task_id: str) -> None:
        """Nothing: a stream ends with its task (events_after stops there)."""
