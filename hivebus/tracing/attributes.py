"""Span attributes: OpenTelemetry's messaging (Kafka) and GenAI semantic conventions, plus
hivebus's own (`hivebus.*`), as plain names (no semantic-conventions package needed)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from opentelemetry.util.types import AttributeValue

if TYPE_CHECKING:
    from hivebus.llm.completion import Completion
    from hivebus.llm.provider import ChatRequest
    from hivebus.runtime.middleware import Call

Attributes = dict[str, AttributeValue]
_CE = {"ce_id": "messaging.message.id", "ce_type": "cloudevents.event_type",
       "ce_source": "cloudevents.event_source"}  # fmt: skip


def process(call: Call) -> Attributes:
    """What a CONSUMER span says about the record its handler processes."""
    message = call.job.message
    found: Attributes = {
        "messaging.system": "kafka",
        "messaging.operation.type": "process",
        "messaging.operation.name": "process",
        "messaging.destination.name": message.topic() or "",
        "messaging.destination.partition.id": str(message.partition()),
        "messaging.kafka.offset": message.offset(),
        "messaging.consumer.group.name": call.agent.name,
        "hivebus.agent": call.agent.name,
        "hivebus.correlation_id": call.job.lineage()[1],  # the first event's id, carried on
    }
    key = call.job.key
    if key is not None:
        found["messaging.kafka.message.key"] = key
    for name, value in call.job.headers or ():
        attribute = _CE.get(name)
        if attribute is not None and value is not None:
            found[attribute] = value.decode("utf-8", "replace")
    return found


def step(agent: str, name: str, position: int | None) -> Attributes:
    found: Attributes = {"hivebus.agent": agent, "hivebus.step.name": name,
                         "hivebus.step.durable": position is not None}  # fmt: skip
    if position is not None:
        found["hivebus.step.position"] = position
    return found


def llm(request: ChatRequest, completion: Completion | None) -> Attributes:
    found: Attributes = {"gen_ai.operation.name": "chat", "gen_ai.request.model": request.model}
    if request.temperature is not None:
        found["gen_ai.request.temperature"] = request.temperature
    if request.max_tokens is not None:
        found["gen_ai.request.max_tokens"] = request.max_tokens
    if completion is not None:
        found["gen_ai.response.model"] = completion.model
        found["gen_ai.usage.input_tokens"] = completion.prompt_tokens
        found["gen_ai.usage.output_tokens"] = completion.completion_tokens
        found["gen_ai.response.finish_reasons"] = [completion.finish_reason]
    return found
