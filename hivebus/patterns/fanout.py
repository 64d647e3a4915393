"""Parallel tool fan-out: the tool calls an LLM asked for, run side by side by tool workers
over Kafka, joined (all, the first N, or by a deadline) into partial results for the next
LLM turn.

A thin layer over `Workers`: a tool is a task kind, a tool call's id (the model's) is the
task's id, so a replay sends nothing again and results match calls by id. What did not come
or failed is said so in the tool message, so the model can go on with what it has.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hivebus.durable import DurableContext
from hivebus.errors import ConfigError
from hivebus.patterns.workers import Workers
from hivebus.patterns.workers.worker import TaskFn
from hivebus.runtime import Agent


@dataclass(frozen=True)
class ToolCall:
    """One call the model asked for: its id, the tool's name and the arguments."""

    id: str
    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_openai(cls, call: Any) -> ToolCall:
        """From an openai SDK tool call (`message.tool_calls[i]`), whose arguments are JSON."""
        return cls(call.id, call.function.name, json.loads(call.function.arguments or "{}"))


@dataclass(frozen=True)
class ToolResults:
    """The results of a fan-out, by tool call id: values, errors, and the calls missing."""

    calls: list[ToolCall]
    values: dict[str, Any]
    errors: dict[str, str]
    missing: list[str]

    def messages(self) -> list[dict[str, str]]:
        """One `tool` message per call, in the calls' order, for the next chat request."""
        out = []
        for call in self.calls:
            if call.id in self.values:
                content = json.dumps(self.values[call.id])
            elif call.id in self.errors:
                content = f"error: the tool {call.name} failed: {self.errors[call.id]}"
            else:
                content = f"error: the tool {call.name} did not answer in time"
            out.append({"role": "tool", "tool_call_id": call.id, "content": content})
        return out


class Tools:
    """Tools served by tool workers on `<name>.tasks`/`<name>.results` (a `Workers` pool).
    Give `tools.calls` to the calling agent's `Agent(durable=True, calls=...)`."""

    def __init__(self, name: str, *, partitions: int = 6) -> None:
        self.pool = Workers(name, partitions=partitions)
        self.calls = self.pool.calls

    def worker(self, name: str, tools: Mapping[str, TaskFn], **agent_options: Any) -> Agent:
        """A tool worker named `name` serving `tools` (`{"search": async fn(arguments, ctx)}`)."""
        return self.pool.worker(name, tools, **agent_options)

    async def fan_out(
        self,
        ctx: DurableContext,
        calls: Sequence[ToolCall],
        *,
        first: int | None = None,
        timeout_s: float | None = None,
    ) -> ToolResults:
        """Run every call in parallel and wait for all, the `first` N to answer, or
        `timeout_s`; what came is in the results, the rest is `missing`."""
        ids = [call.id for call in calls]
        if len(set(ids)) != len(ids):
            raise ConfigError(f"fan_out got tool calls with the same id: {sorted(ids)}")
        tasks = [self.pool.task(ctx, c.name, dict(c.arguments), id=c.id) for c in calls]
        joined = await self.pool.join(ctx, tasks, first=first, timeout_s=timeout_s)
        values = {calls[i].id: joined.result(i).value() for i in joined.succeeded}
        errors = {calls[i].id: joined.result(i).error for i in joined.failed}
        return ToolResults(list(calls), values, errors, [calls[i].id for i in joined.missing])
