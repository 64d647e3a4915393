"""Recorded LLM answers and step results from the audit (`hivebus.audit`), for `hivebus
replay --llm record` and `--tools record`.

An audited agent (`Agent(middleware=[Audit()])`, with its default `content=True`) writes one
`llm` audit event per call and one `step` event per step, in the decision `<agent>/<input
id>`, with the reply by reference to a blob and the step's result as JSON (inline, or in a
blob when large). Those are read from the audit topics (from the replay's start, less the
clock slack, to their ends) into an in-memory `AuditStore`; a call's index is its place among
the handling's LLM calls in time order, retries included, and a step's among the handling's
steps of its name, alike. Both are served as the audit kept them: scrubbed of the input's
sensitive values, and a reply cut if it was longer than the blob limit.
"""

from __future__ import annotations

from hivebus.audit.blobs import digest_of
from hivebus.audit.records import LLM, OK, STEP, AuditEvent
from hivebus.audit.restore import restore
from hivebus.audit.settings import AuditSettings
from hivebus.audit.store import AuditStore
from hivebus.contracts import Serde, registry_client
from hivebus.errors import ConfigError
from hivebus.kafka.admin import admin_client
from hivebus.replay.outputs import CLOCK_SLACK_MS
from hivebus.replay.ranges import partitions_of, ranges_between
from hivebus.replay.recorded import NotRecorded, RecordedReply
from hivebus.replay.recorded_steps import RecordedStep


class AuditCalls:
    """`RecordedCalls` over the audit's events and blobs; `durable`: the agent's runs'."""

    def __init__(self, store: AuditStore, *, durable: bool = False) -> None:
        self._store = store
        self._durable = durable
        self._calls: dict[str, list[RecordedReply]] = {}

    def lookup(self, agent: str, input_id: str, index: int) -> RecordedReply | None:
        decision = f"{agent}/{input_id}"
        calls = self._calls.get(decision)
        if calls is None:
            calls = self._calls[decision] = self._replies(agent, input_id)
        return calls[index] if index < len(calls) else None

    def _replies(self, agent: str, input_id: str) -> list[RecordedReply]:
        decision = f"{agent}/{input_id}"
        events = handled(self._store, agent, input_id, LLM, durable=self._durable)
        replies = []
        for event in events:
            call = event.llm
            if call is None:
                continue
            if event.outcome != OK:
                message = event.error.message if event.error is not None else "it failed"
                replies.append(RecordedReply("", call.model, error=message))
                continue
            text = self._store.blob(digest_of(call.response_ref)) if call.response_ref else None
            if text is None:
                raise NotRecorded(
                    f"the audit of {decision} kept no reply of its LLM call (Audit(content="
                    "False), or the blob is past its retention)"
                )
            replies.append(RecordedReply(
                text, call.model, call.prompt_tokens, call.completion_tokens,
                call.finish_reason or "stop",
            ))  # fmt: skip
        return replies


class AuditSteps:
    """`RecordedSteps` over the audit's events and blobs; `durable`: the agent's runs'."""

    def __init__(self, store: AuditStore, *, durable: bool = False) -> None:
        self._store = store
        self._durable = durable
        self._steps: dict[str, dict[str, list[RecordedStep]]] = {}

    def lookup(self, agent: str, input_id: str, name: str, index: int) -> RecordedStep | None:
        decision = f"{agent}/{input_id}"
        steps = self._steps.get(decision)
        if steps is None:
            steps = self._steps[decision] = self._results(agent, input_id)
        found = steps.get(name, [])
        return found[index] if index < len(found) else None

    def _results(self, agent: str, input_id: str) -> dict[str, list[RecordedStep]]:
        decision = f"{agent}/{input_id}"
        events = handled(self._store, agent, input_id, STEP, durable=self._durable)
        results: dict[str, list[RecordedStep]] = {}
        for event in events:
            step = event.step
            if step is None:
                continue
            if event.outcome != OK:
                error = event.error
                failed = RecordedStep(None, error.message if error else "it failed",
                                      error.type if error else None)  # fmt: skip
                results.setdefault(step.name, []).append(failed)
                continue
            text = step.result
            if text is None and step.result_ref:
                text = self._store.blob(digest_of(step.result_ref))
                if text is None:
                    raise NotRecorded(
                        f"the audit of {decision} kept no result of its step {step.name!r} "
                        "(the blob is past its retention)"
                    )
            results.setdefault(step.name, []).append(RecordedStep(text))
        return results


def handled(
    store: AuditStore, agent: str, input_id: str, kind: str, *, durable: bool
) -> list[AuditEvent]:
    """The `kind` events of the handling of `input_id` by `agent`, in the order they ran
    (attempt, then place). A durable agent's are those of the run named after the input
    (the audit names its run agent's decisions after the agent): every handling of the run
    (its start, each wake-up) in the order they began; a step that ran in one is replayed
    from the journal in the next, so each is there once."""
    if not durable:
        events = [e for e in store.events(decision_ids=[f"{agent}/{input_id}"]) if e.kind == kind]
        return sorted(events, key=lambda e: (e.attempt, e.seq))
    order: dict[str, int] = {}
    events = []
    for event in store.events(run_id=input_id):
        if event.agent == agent and event.kind == kind:
            order.setdefault(event.decision_id, len(order))
            events.append(event)
    return sorted(events, key=lambda e: (order[e.decision_id], e.attempt, e.seq))


def audit_record(agent: str, start_ms: int | None, timeout_s: float, needs: str) -> AuditStore:
    """What the audit recorded for `agent` from `start_ms` on (the whole audit without a
    start); `needs` names what wants it, for the error when there is nothing."""
    settings = AuditSettings.from_env()
    admin = admin_client()
    topics = [settings.topic, settings.blob_topic]
    partitions = partitions_of(admin, topics, timeout_s)
    if not any(topic == settings.topic for topic, _ in partitions):
        raise ConfigError(
            f"{needs} need the audit enabled on {agent}: there is no "
            f"{settings.topic} topic (Agent(middleware=[Audit()]), docs/history.md)"
        )
    store = AuditStore()
    if start_ms is not None:  # read only from the replay's start on
        ranges = ranges_between(admin, partitions, start_ms - CLOCK_SLACK_MS, None, timeout_s)
        for topic in topics:
            store.advance(topic, {r.partition: r.start for r in ranges if r.topic == topic})
    restore(store, Serde(registry_client()), settings, timeout_s=max(timeout_s, 120.0))
    if not any(stat.agent == agent for stat in store.agent_stats()):
        raise ConfigError(
            f"{needs} need the audit enabled on {agent}: the audit has no "
            "decision of it in the range (Agent(middleware=[Audit()]), docs/history.md)"
        )
    return store
