"""An A2A message as a durable agent's input, and as the answer to a run that waits for one.

An agent whose contract is `A2AMessage` is given the message as it came. Any other agent is
given the message's data part (one JSON object, or a text part that is one), checked against
its contract exactly as `POST /v1/tasks` checks an `input`. A message to a task that waits
for input (`input-required`) is the signal the run waits for: the whole message for an
A2A agent, else its data part's value, or else its text.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from a2a.types import Message
from a2a.utils.errors import InvalidParamsError

from hivebus.gateway.a2a.contracts import A2AMessage
from hivebus.gateway.a2a.parts import CONTENT, message_json, text_of, value_of
from hivebus.gateway.a2a.target import a2a_error
from hivebus.gateway.errors import ApiError
from hivebus.gateway.records import TaskRecord
from hivebus.gateway.submit import encode_input
from hivebus.gateway.targets import Target


def input_of(message: Message, target: Target, task_id: str, context_id: str) -> bytes:
    """The run's input event (Confluent wire format), or InvalidParamsError naming the field."""
    contract = target.contract.contract
    if contract.fullname == A2AMessage.fullname:
        value = message_json(message, task_id, context_id)
    else:
        value = _data(message)
        if not isinstance(value, dict):
            fields = ", ".join(f["name"] for f in contract.parsed.get("fields", []))
            raise InvalidParamsError(
                message=f"agent {target.agent!r} takes {contract.fullname}: send it as one "
                f"data part, a JSON object with its fields ({fields})"
            )
    try:
        return encode_input(value, target)
    except ApiError as error:
        raise a2a_error(error) from None


def answer_of(message: Message, task: TaskRecord, context_id: str) -> Any:
    """The payload of the signal a message to a waiting task sends."""
    if task.type == A2AMessage.fullname:
        return message_json(message, task.task_id, context_id)
    value = _data(message)
    return value if value is not None else text_of(message)


def _data(message: Message) -> Any:
    """The value of the message's one data part, or of its text when that is a JSON object."""
    data = [p for p in message.parts if p.WhichOneof(CONTENT) == "data"]
    if len(data) > 1:
        raise InvalidParamsError(message="send one data part: the message has several")
    if data:
        return value_of(data[0])
    with contextlib.suppress(ValueError):
        found = json.loads(text_of(message))
        return found if isinstance(found, dict) else None
    return None
