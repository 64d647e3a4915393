"""The contracts of agents that speak A2A themselves: the message they take, the reply they give.

An agent whose input is `A2AMessage` is given each A2A message as it came (its text, data and
files). One whose handler returns an `A2AReply` says which artifacts its task has, the
message it ends with, and whether it rejects the task. Any other durable agent takes a data
part checked against its own contract, and its events become data artifacts
(docs/gateway.md, "A2A").
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import Field

from hivebus.contracts import Record

SCHEMAS = Path(__file__).parent.parent / "schemas"


class A2APart(Record, avsc=None):
    """One part (nested in `A2AMessage` and `A2AReply`): set one of text, data, raw, url."""

    text: str | None = None
    data: str | None = None  # JSON text, so that any JSON value fits an Avro field
    raw: bytes | None = None
    url: str | None = None
    filename: str | None = None
    media_type: str | None = None

    @classmethod
    def of_data(cls, value: Any) -> A2APart:
        return cls(data=json.dumps(value))

    def value(self) -> Any:
        """A data part's value (None for other parts)."""
        return json.loads(self.data) if self.data is not None else None


class A2AMessage(Record, avsc=SCHEMAS / "A2AMessage.avsc"):
    message_id: str
    context_id: str
    task_id: str
    text: str = ""
    parts: list[A2APart] = Field(default_factory=list)
    metadata: str | None = None


class A2AArtifact(Record, avsc=None):
    """One artifact of a reply, or one chunk of it (`append`)."""

    artifact_id: str | None = None
    name: str | None = None
    description: str | None = None
    parts: list[A2APart] = Field(default_factory=list)
    append: bool = False
    last_chunk: bool = False


class A2AReply(Record, avsc=SCHEMAS / "A2AReply.avsc"):
    text: str | None = None
    artifacts: list[A2AArtifact] = Field(default_factory=list)
    rejected: bool = False
    as_message: bool = False  # a quick answer: a message, not a task (docs/gateway.md)
