"""A saga: ordered steps with compensations, run inside a durable handler or by a
coordinator agent of its own."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from hivebus.contracts import Record
from hivebus.durable import Callee, DurableContext
from hivebus.errors import ConfigError
from hivebus.kafka.admin import TopicSpec
from hivebus.patterns.saga.chooser import Chooser
from hivebus.patterns.saga.records import SagaOutcome
from hivebus.patterns.saga.run import SagaRun
from hivebus.patterns.saga.steps import Local, Remote, Step
from hivebus.runtime import Agent, Retry

In = TypeVar("In", bound=Record)
COMPENSATION_RETRY = Retry(attempts=5, backoff_s=0.5, max_backoff_s=10.0)
CHOOSER_RETRY = Retry(attempts=2, backoff_s=1.0)


class Saga(Generic[In]):
    """A saga named `name` of `steps`, in order. When a step fails (a `Local` that raises
    after its retries, a `Remote` whose reply `failed()` or that times out), the finished
    steps are compensated in reverse order, each compensation a journaled step retried by
    `compensation_retry` (a step's own `retry` wins).

    - `chooser`: picks, from the failure, among each step's compensation options
      (`LLMChooser()` asks the LLM); its answer is journaled, and an option a step does not
      declare falls back to the declared one. Without it, the declared options are used.
    - `saga.run(ctx, input)` runs it inside any durable handler; `saga.coordinator(...)`
      builds a durable, exactly-once agent that runs one saga per event and publishes its
      `SagaOutcome`.
    """

    def __init__(
        self,
        name: str,
        steps: Sequence[Step],
        *,
        chooser: Chooser | None = None,
        compensation_retry: Retry = COMPENSATION_RETRY,
        chooser_retry: Retry = CHOOSER_RETRY,
    ) -> None:
        if not name:
            raise ConfigError("Saga.name must not be empty")
        if not steps:
            raise ConfigError(f"Saga.steps of {name!r} must name at least one Step")
        seen: set[str] = set()
        for step in steps:
            if not isinstance(step, Step):
                raise ConfigError(f"Saga.steps of {name!r} must be Step instances, got {step!r}")
            if step.name in seen:
                raise ConfigError(f"Saga.steps of {name!r} name the step {step.name!r} twice")
            seen.add(step.name)
        if chooser is not None and not callable(chooser):
            raise ConfigError(f"Saga.chooser of {name!r} must be callable, got {chooser!r}")
        self.name, self.steps = name, list(steps)
        self._run = SagaRun(name, self.steps, chooser, compensation_retry, chooser_retry)

    def callees(self) -> list[Callee]:
        """Every agent the saga's steps call, once each: the coordinator's `calls`."""
        found: list[Callee] = []
        for step in self.steps:
            for action in (step.action, *step.options().values()):
                if isinstance(action, Remote) and action.callee not in found:
                    found.append(action.callee)
        return found

    async def run(
        self, ctx: DurableContext, input: In, *, saga_id: str | None = None
    ) -> SagaOutcome:
        """Run the saga in the durable handler of `ctx` (its agent must be durable and list
        `saga.callees()` in its `calls`). The saga id defaults to the event's key, else the
        run id; it keys the calls and names the idempotency keys."""
        if not isinstance(ctx, DurableContext):
            raise ConfigError(f"saga {self.name!r} runs only in a durable handler "
                              "(Agent(durable=True))")  # fmt: skip
        return await self._run(ctx, input, saga_id or ctx.key or ctx.run_id)

    def coordinator(
        self,
        source: str,
        accepts: type[In],
        *,
        outcomes: str | None = None,
        name: str | None = None,
        saga_id: Callable[[In], str] | None = None,
        partitions: int | None = None,
        **agent_options: Any,
    ) -> Agent:
        """A durable agent (exactly-once unless `guarantee=` says otherwise) that runs the
        saga for each `accepts` event on `source` and publishes its `SagaOutcome` to
        `outcomes` (`<saga>.outcomes` by default), keyed by the saga id (`saga_id(event)`,
        else the event's key). With `partitions`, it creates the topics it uses that are
        missing. `agent_options` go to its `Agent`."""
        if partitions is not None and partitions < 1:
            raise ConfigError(f"Saga.coordinator partitions must be at least 1, got {partitions}")
        outcome_topic = outcomes or f"{self.name}.outcomes"
        options: dict[str, Any] = {"guarantee": "exactly_once", **agent_options}
        topics = list(options.pop("topics", []))
        if partitions is not None:
            topics += [
                TopicSpec(t, partitions=partitions) for t in self._topics(source, outcome_topic)
            ]
        agent = Agent(
            name or f"{self.name}.coordinator",
            description=options.pop("description", f"Runs saga {self.name!r}, undoing on failure"),
            durable=True, calls=self.callees(), topics=topics, publishes=[outcome_topic],
            **options,
        )  # fmt: skip

        async def run_saga(event: In, ctx: DurableContext) -> None:
            sid = saga_id(event) if saga_id is not None else None
            outcome = await self.run(ctx, event, saga_id=sid)
            await ctx.publish(outcome_topic, outcome, key=outcome.saga_id)

        agent.on(source, accepts)(run_saga)
        return agent

    def _topics(self, source: str, outcomes: str) -> list[str]:
        names = [source, outcomes]
        for callee in self.callees():
            names += [callee.topic, callee.reply_topic]
        return list(dict.fromkeys(names))


__all__ = ["Local", "Remote", "Saga", "Step"]
