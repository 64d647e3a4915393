"""A2A parts and messages, to and from the JSON of `A2APart` and `A2AMessage`.

Bytes are written as Avro's JSON encoding has them, one character per byte, as the gateway's
inputs and outputs carry every `bytes` field; a data part's value travels as JSON text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from a2a.types import Message, Part, Role
from google.protobuf import json_format

CONTENT = "content"  # the oneof of a part: text, raw, url or data


def part_json(part: Part) -> dict[str, Any]:
    """An A2A part as an `A2APart` in JSON."""
    kind = part.WhichOneof(CONTENT)
    return {
        "text": part.text if kind == "text" else None,
        "data": json.dumps(value_of(part)) if kind == "data" else None,
        "raw": part.raw.decode("latin-1") if kind == "raw" else None,
        "url": part.url if kind == "url" else None,
        "filename": part.filename or None,
        "media_type": part.media_type or None,
    }


def part_of(value: Mapping[str, Any]) -> Part:
    """An `A2APart` in JSON (an input's, an output's) as an A2A part."""
    part = Part(filename=value.get("filename") or "", media_type=value.get("media_type") or "")
    if value.get("text") is not None:
        part.text = value["text"]
    elif value.get("data") is not None:
        json_format.Parse(value["data"], part.data)
    elif value.get("raw") is not None:
        raw = value["raw"]
        part.raw = raw.encode("latin-1") if isinstance(raw, str) else bytes(raw)
    elif value.get("url") is not None:
        part.url = value["url"]
    return part


def value_of(part: Part) -> Any:
    """A data part's value as JSON data. Protobuf keeps every number as a double: whole
    numbers come back as ints, which is what an `int` or `long` field of a contract takes."""
    return _whole(json_format.MessageToDict(part.data))


def _whole(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _whole(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole(v) for v in value]
    return value


def data_part(value: Any) -> Part:
    part = Part()
    json_format.ParseDict(value, part.data)
    return part


def text_of(message: Message) -> str:
    return "\n".join(p.text for p in message.parts if p.WhichOneof(CONTENT) == "text")


def message_json(message: Message, task_id: str, context_id: str) -> dict[str, Any]:
    """A user's message as an `A2AMessage` in JSON, under the ids of its task."""
    metadata = message.metadata
    return {
        "message_id": message.message_id,
        "context_id": context_id,
        "task_id": task_id,
        "text": text_of(message),
        "parts": [part_json(p) for p in message.parts],
        "metadata": json.dumps(_whole(json_format.MessageToDict(metadata))) if metadata else None,
    }


def message_of(value: Mapping[str, Any], role: Role = Role.ROLE_USER) -> Message:
    """An `A2AMessage` in JSON (a signal's payload, say) as an A2A message."""
    message = Message(
        message_id=value["message_id"],
        context_id=value.get("context_id") or "",
        task_id=value.get("task_id") or "",
        role=role,
        parts=[part_of(p) for p in value.get("parts") or []],
    )
    if value.get("metadata"):
        message.metadata.update(json.loads(value["metadata"]))
    return message


def is_message_json(value: Any) -> bool:
    return isinstance(value, dict) and "message_id" in value and "parts" in value
