"""Submitting a task: its record on `hivebus.tasks`, then its input event on the agent's topic.

The task id is minted here and is the input event's `ce_id`; a durable run's id is the
`ce_id` of the event that started it, so the run id is the task id and nothing has to map
one to the other. The task record goes first: a replica asked about the task then always
knows it, and if the input cannot be written the record is taken back (a tombstone).
The answer waits for the broker's two acknowledgements, never for the run.
"""

from __future__ import annotations

import asyncio
import uuid
from io import BytesIO
from typing import Any

import fastavro

from hivebus.contracts import HeaderBuilder, Serde
from hivebus.contracts.strict import describe_unknown, unknown_fields
from hivebus.contracts.wire import frame_header
from hivebus.durable.run import stamp
from hivebus.gateway.errors import ApiError
from hivebus.gateway.records import TOPIC, TaskRecord
from hivebus.gateway.targets import Target
from hivebus.gateway.tasks import TaskTable
from hivebus.gateway.validation import InvalidInput, avro_datum
from hivebus.kafka.producer import AsyncProducer

SOURCE = "hivebus-gateway"
ACK_TIMEOUT_S = 15.0
FIELDS = {"agent", "topic", "type", "input", "key"}


def parse_request(body: Any) -> dict[str, Any]:
    """The submission's fields, checked for shape (the input is checked against its contract
    once the contract is known)."""
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_request", "the body must be a JSON object")
    if unknown := sorted(set(body) - FIELDS):
        raise ApiError(
            400,
            "invalid_request",
            f"unknown field(s) {unknown}; a task takes {sorted(FIELDS)}",
            field=unknown[0],
        )
    for name in ("agent", "topic", "type", "key"):
        if body.get(name) is not None and not isinstance(body[name], str):
            raise ApiError(400, "invalid_request", f"'{name}' must be a string", field=name)
    if not isinstance(body.get("input"), dict):
        raise ApiError(
            400,
            "invalid_request",
            "'input' must be a JSON object: the event's value, as its contract has it",
            field="input",
        )
    return body


def encode_input(value: dict[str, Any], target: Target) -> bytes:
    """The input as the event's value (Confluent wire format), or a 400 naming the field."""
    found = target.contract
    contract = found.contract
    if unknown := unknown_fields(value, contract):
        raise ApiError(
            400,
            "invalid_input",
            describe_unknown(contract, unknown),
            field=f"input.{unknown[0].path}",
        )
    try:
        datum = avro_datum(value, contract)
    except InvalidInput as error:
        where = f"input.{error.path}" if error.path else "input"
        raise ApiError(
            400,
            "invalid_input",
            f"the input does not fit {contract.fullname}: {error}",
            field=where,
        ) from None
    out = BytesIO(frame_header(found.schema_id))
    out.seek(0, 2)
    try:
        fastavro.schemaless_writer(out, contract.parsed, datum)
    except (ValueError, TypeError, KeyError) as error:
        raise ApiError(
            400, "invalid_input", f"the input cannot be written as {contract.fullname}: {error}"
        ) from None
    return out.getvalue()


class Submitter:
    def __init__(self, serde: Serde, producer: AsyncProducer, tasks: TaskTable) -> None:
        self._serde, self._producer, self._tasks = serde, producer, tasks
        self._headers = HeaderBuilder(SOURCE)

    async def submit(
        self,
        target: Target,
        value: bytes,
        key: str | None,
        *,
        task_id: str | None = None,
        submitted_at: str | None = None,
        context_id: str | None = None,
        message: str | None = None,
    ) -> TaskRecord:
        """The ids and the A2A fields are given by the A2A endpoint, which mints them before
        the task is written; over HTTP they are made here."""
        task_id = task_id or str(uuid.uuid4())
        key = key if key is not None else task_id  # the entity the event is about: the task
        task = TaskRecord(
            task_id=task_id,
            agent=target.agent,
            topic=target.topic,
            type=target.contract.contract.fullname,
            key=key,
            submitted_at=submitted_at or stamp(),
            context_id=context_id,
            message=message,
        )
        encoder = await self._serde.encoder_async(TOPIC, TaskRecord)
        await self._send(TOPIC, encoder.encode(task), task_id, None)
        self._tasks.remember(task)
        headers, _ = self._headers.build(task.type, event_id=task_id, correlation_id=task_id)
        try:
            await self._send(target.topic, value, key, headers)
        except ApiError:
            await self._producer.send(TOPIC, None, key=task_id)  # the task never was
            raise
        return task

    async def _send(
        self, topic: str, value: bytes | None, key: str, headers: list[tuple[str, bytes]] | None
    ) -> None:
        try:
            await asyncio.wait_for(
                self._producer.send(topic, value, key=key, headers=headers), ACK_TIMEOUT_S
            )
        except Exception as error:
            raise ApiError(
                503,
                "kafka_unavailable",
                f"Kafka did not take the task's record on {topic!r}: {error}",
            ) from None
