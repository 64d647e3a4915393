"""A task as A2A shows it (GetTask, ListTasks, the start of a resubscription): its events
folded into one `Task`, the way the SDK folds the events an executor sends.

So the task a client is sent while it streams and the task any replica reads later agree:
a status update moves the message of the status before it into the history, an artifact
update adds or extends its artifact, and a wait that is over adds the agent's question and
the user's answer.
"""

from __future__ import annotations

from a2a.server.tasks.task_manager import append_artifact_to_task
from a2a.types import Task, TaskArtifactUpdateEvent, TaskStatusUpdateEvent

from hivebus.gateway.a2a.translate import FollowUp, Versioned


def fold(made: list[Versioned]) -> tuple[Task, int]:
    """The task after all of `made` (which starts with its first `Task`), and its version."""
    task, at = Task(), 0
    for versioned in made:
        event = versioned.event
        if isinstance(event, Task):
            task.CopyFrom(event)
        elif isinstance(event, FollowUp):  # (after a step: the status has no message)
            task.history.extend([event.asked, event.answer])
        elif isinstance(event, TaskStatusUpdateEvent):
            if task.status.HasField("message"):
                task.history.append(task.status.message)
            if event.metadata:
                task.metadata.MergeFrom(event.metadata)
            task.status.CopyFrom(event.status)
        elif isinstance(event, TaskArtifactUpdateEvent):
            append_artifact_to_task(task, event)
        at = versioned.version
    return task, at
