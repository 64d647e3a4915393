"""The contract of a topic's events, as the schema registry has it (cached for a while).

A task's input is written with the newest schema of the topic's subject: `<topic>-value`
(TopicNameStrategy), or `<topic>-<record full name>` for a multi-type topic when the request
names the type. The gateway has no pydantic models of users' contracts; the registry is
where any agent's contract can be read.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass

from confluent_kafka.schema_registry import SchemaRegistryClient, SchemaRegistryError

from hivebus.contracts import Contract, contract_from_dict, subject_for
from hivebus.errors import HivebusError
from hivebus.gateway.errors import ApiError

TTL_S = 30.0
NOT_FOUND = 404
log = logging.getLogger("hivebus.gateway.contracts")


@dataclass(frozen=True)
class TopicContract:
    subject: str
    schema_id: int
    contract: Contract
    multi_type: bool


class Contracts:
    def __init__(self, registry: SchemaRegistryClient) -> None:
        self._registry = registry
        self._cache: dict[str, tuple[float, TopicContract | None]] = {}

    async def of(self, topic: str, type_: str | None) -> TopicContract | None:
        """The newest contract for events of `type_` (or of any type) on `topic`."""
        if type_ is not None:
            found = await self._latest(subject_for(topic, type_, multi_type=True), True)
            if found is not None:
                return found
        return await self._latest(subject_for(topic, "", multi_type=False), False)

    async def _latest(self, subject: str, multi_type: bool) -> TopicContract | None:
        cached = self._cache.get(subject)
        if cached is not None and time.monotonic() - cached[0] < TTL_S:
            return cached[1]
        try:
            found = await asyncio.to_thread(self._read, subject, multi_type)
        except HivebusError as error:
            log.warning("the registry did not answer for %s: %s", subject, error)
            raise ApiError(
                503, "registry_unavailable", "the schema registry did not answer; try again shortly"
            ) from None
        self._cache[subject] = (time.monotonic(), found)
        return found

    def _read(self, subject: str, multi_type: bool) -> TopicContract | None:
        try:
            registered = self._registry.get_latest_version(subject)
        except SchemaRegistryError as error:
            if error.http_status_code == NOT_FOUND:
                return None
            raise HivebusError(f"HTTP {error.http_status_code}: {error.error_message}") from None
        except Exception as error:  # connection refused, timeouts
            raise HivebusError(f"{type(error).__name__}: {error}") from None
        text = registered.schema.schema_str if registered.schema is not None else None
        if registered.schema_id is None or text is None:
            return None
        contract = contract_from_dict(json.loads(text))
        return TopicContract(subject, int(registered.schema_id), contract, multi_type)
