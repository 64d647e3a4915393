"""A completed run's results as A2A artifacts, with the message and the state it ends with.

An `A2AReply` the run published says it all: its artifacts (chunks marked `append`), its
closing text, whether the agent rejects the task. Any other event the run published is one
artifact of one data part, the event's value, named by its type. The results are read back
from the agent's output topics (outputs.py), so every replica makes the same artifacts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from a2a.types import Artifact

from hivebus.gateway.a2a.contracts import A2AReply
from hivebus.gateway.a2a.parts import data_part, part_of


@dataclass(frozen=True)
class Chunk:
    """An artifact as one `TaskArtifactUpdateEvent` carries it."""

    artifact: Artifact
    append: bool = False
    last_chunk: bool = False


@dataclass(frozen=True)
class Results:
    chunks: list[Chunk] = field(default_factory=list)
    text: str | None = None  # the agent's closing message
    rejected: bool = False
    as_message: bool = False


def results_of(outputs: list[dict[str, Any]]) -> Results:
    """`outputs`: the events the run published (topic, type, key and JSON value of each)."""
    chunks: list[Chunk] = []
    text, rejected, as_message = None, False, False
    for index, output in enumerate(outputs):
        if output["type"] != A2AReply.fullname:
            chunks.append(Chunk(_event_artifact(index, output)))
            continue
        reply = output["value"]
        chunks += _reply_chunks(index, reply.get("artifacts") or [])
        text = reply.get("text") if reply.get("text") is not None else text
        rejected = bool(reply.get("rejected"))
        as_message = bool(reply.get("as_message"))
    return Results(chunks, text, rejected, as_message)


def _reply_chunks(index: int, artifacts: list[dict[str, Any]]) -> list[Chunk]:
    chunks: list[Chunk] = []
    seen: list[str] = []
    for position, spec in enumerate(artifacts):
        append = bool(spec.get("append"))
        artifact_id = spec.get("artifact_id") or (
            seen[-1] if append and seen else f"reply-{index}-{position}"
        )
        append = append and artifact_id in seen  # a first chunk starts its artifact
        seen.append(artifact_id)
        artifact = Artifact(
            artifact_id=artifact_id,
            name=spec.get("name") or "",
            description=spec.get("description") or "",
            parts=[part_of(p) for p in spec.get("parts") or []],
        )
        chunks.append(Chunk(artifact, append, bool(spec.get("last_chunk"))))
    return chunks


def _event_artifact(index: int, output: dict[str, Any]) -> Artifact:
    artifact = Artifact(
        artifact_id=f"output-{index}", name=output["type"], parts=[data_part(output["value"])]
    )
    artifact.metadata.update({"topic": output["topic"], "key": output["key"]})
    return artifact
