"""`replay`: one replay from start to summary.

1. the new version's subscriptions, resolved to topics, and per partition the offsets
   between the two times (fixed now);
2. the shadow run: those records through the new version, outputs into shadow topics;
3. the live agent's historical outputs for the same inputs, by `ce_causationid`;
4. the diff, as a `ReplayReport`.
Nothing here commits an offset, joins a group or writes a live topic.
"""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from confluent_kafka.admin import AdminClient

from hivebus.contracts import Serde, registry_client
from hivebus.durable.topics import run_agent
from hivebus.errors import ConfigError, HivebusError
from hivebus.kafka.access import CLI_TIMEOUT_S, check_access
from hivebus.kafka.admin import admin_client
from hivebus.llm import LLM, LLMSettings
from hivebus.replay.cleanup import drop_shadow
from hivebus.replay.diff import Output, compare
from hivebus.replay.durable_runs import ReplayedRuns
from hivebus.replay.groups import committed_offsets
from hivebus.replay.names import ShadowNames, new_replay_id
from hivebus.replay.outputs import historical_outputs, output_of
from hivebus.replay.progress import Progress
from hivebus.replay.ranges import Range, partitions_of, ranges_between, subscribed_topics
from hivebus.replay.recorded import RecordedCalls, RecordedProvider
from hivebus.replay.recorded_steps import RecordedSteps, StepsFromRecord
from hivebus.replay.report import ReplayReport
from hivebus.replay.shadow import Produced
from hivebus.replay.shadow_run import ShadowRun
from hivebus.replay.signals import live_signals
from hivebus.runtime.agent import Agent
from hivebus.runtime.directory import read_directory
from hivebus.runtime.loader import load_agents

if TYPE_CHECKING:
    from hivebus.audit.store import AuditStore

LLM_MODES = TOOL_MODES = ("live", "record")
SYSTEM_PREFIX = "hivebus."  # dead letters, the audit: written in the shadow, never diffed


@dataclass(frozen=True)
class ReplayOptions:
    agent: str  # the live agent (its name: its group, its ce_source)
    spec: str  # the new version: path/to/agent.py[:variable]
    start_ms: int | None  # None: from the beginning
    end_ms: int | None = None  # None: up to the end as the replay starts
    llm: str = "live"
    tools: str = "live"  # record: steps (tool calls) served from the audit, not run
    replay_id: str | None = None
    drop_shadow: bool = False
    timeout_s: float = 30.0


async def replay(
    options: ReplayOptions,
    *,
    out: TextIO | None = None,
    recorded: RecordedCalls | None = None,
    recorded_steps: RecordedSteps | None = None,
) -> ReplayReport:
    """Run one replay and return its report; progress goes to `out` (stderr by default).
    `recorded` answers LLM calls with `llm="record"`, `recorded_steps` steps with
    `tools="record"` (by default both come from the audit's record)."""
    out = out if out is not None else sys.stderr
    if options.llm not in LLM_MODES:
        raise ConfigError(f"--llm must be one of {', '.join(LLM_MODES)}, got {options.llm!r}")
    if options.tools not in TOOL_MODES:
        raise ConfigError(
            f"--tools must be one of {', '.join(TOOL_MODES)}, got {options.tools!r}"
        )  # fmt: skip
    start, end = options.start_ms, options.end_ms
    if start is not None and end is not None and end <= start:
        raise ConfigError("--to must be later than --from")
    new = pick_agent(load_agents(options.spec), options.agent, options.spec)
    runs = _durable(new)
    shadowed = runs.agent if runs is not None else new
    names = ShadowNames(options.replay_id or new_replay_id())
    seconds: dict[str, float] = {}
    clock = time.monotonic()
    await asyncio.to_thread(check_access, CLI_TIMEOUT_S)
    admin, serde = admin_client(), Serde(registry_client())
    llm, steps = await asyncio.to_thread(_served, options, new, recorded, recorded_steps)
    try:
        ranges, partition_counts = await asyncio.to_thread(_sources, admin, new, options)
        unhandled = await asyncio.to_thread(_unhandled_live, admin, options.agent, ranges)
        if runs is not None:  # the signals its live runs were sent, for the replayed ones
            runs.signals = await asyncio.to_thread(
                live_signals, serde, admin, options.agent, options.start_ms or 0,
                timeout_s=options.timeout_s,
            )  # fmt: skip
    except BaseException:
        await llm.aclose()
        raise
    seconds["read"] = time.monotonic() - clock
    total = sum(r.size for r in ranges)
    out.write(
        f"replay {names.replay_id}: {total:,} record(s) of {options.agent}'s inputs through "
        f"{options.spec}, outputs to {names.prefix}*\n"
    )
    clock = time.monotonic()
    bar = Progress("  replaying", total, out=out)
    run = ShadowRun(
        shadowed, names=names, serde=serde, admin=admin, llm=llm,
        recorded=options.llm == "record", steps=steps, partitions=partition_counts,
        outcomes=runs.outcomes if runs is not None else None,
    )  # fmt: skip
    try:
        result = await run.run(
            ranges, start_ms=options.start_ms, end_ms=options.end_ms, progress=bar.update
        )
    finally:
        await llm.aclose()
    bar.finish()
    seconds["replay"] = time.monotonic() - clock
    clock = time.monotonic()
    produced = await asyncio.to_thread(_decode, serde, result.produced)
    topics = await asyncio.to_thread(
        _live_output_topics, new, result.produced, options.agent, serde
    )
    causes = [item.id for item in result.inputs]
    history = Progress("  live outputs", 0, out=out)
    old, repeats = await asyncio.to_thread(
        historical_outputs, serde, admin, topics, _live_sources(options.agent, new), causes,
        options.start_ms if options.start_ms is not None else 0,
        timeout_s=options.timeout_s, progress=history.update,
    )  # fmt: skip
    history.finish()
    seconds["history"] = time.monotonic() - clock
    clock = time.monotonic()
    diff = compare(result.inputs, old, produced)
    seconds["diff"] = time.monotonic() - clock
    report = ReplayReport(
        names.replay_id, options.agent, options.spec, new.version, options.start_ms,
        options.end_ms, options.llm, ranges, result.inputs, diff,
        sorted(result.shadow_topics), result.outside, repeats, unhandled, seconds=seconds,
        tools=options.tools,
    )  # fmt: skip
    if options.drop_shadow:
        await asyncio.to_thread(drop_shadow, admin, serde.registry, names)
        report.dropped = True
    return report


def pick_agent(agents: list[Agent], name: str, spec: str) -> Agent:
    """The agent named `name` in the module; its only agent, whatever its name, otherwise."""
    for agent in agents:
        if agent.name == name:
            return agent
    if len(agents) == 1:
        return agents[0]
    found = ", ".join(a.name for a in agents)
    raise ConfigError(f"{spec} defines {found}, none named {name}: add :<variable> to pick one")


def _durable(new: Agent) -> ReplayedRuns | None:
    """What replays a durable agent's runs (None for an agent that is not durable)."""
    if not new.durable:
        if new.calls:
            raise ConfigError(f"Agent.calls of {new.name!r} needs durable=True")
        return None
    return ReplayedRuns(new)


def _live_sources(agent: str, new: Agent) -> list[str]:
    """Who wrote the live outputs: the agent, and for a durable one its run agent."""
    return [agent, run_agent(agent)] if new.durable else [agent]


def _sources(
    admin: AdminClient, agent: Agent, options: ReplayOptions
) -> tuple[list[Range], dict[str, int]]:
    metadata = admin.list_topics(timeout=options.timeout_s).topics
    topics = subscribed_topics(agent, metadata)
    if not topics:
        raise HivebusError(
            f"no existing topic matches the subscriptions of {agent.name} "
            f"({', '.join(agent.subscriptions)}): nothing to replay"
        )
    partitions = partitions_of(admin, topics, options.timeout_s)
    ranges = ranges_between(admin, partitions, options.start_ms, options.end_ms, options.timeout_s)
    counts = {name: len(info.partitions) for name, info in metadata.items()}
    return ranges, counts


def _unhandled_live(admin: AdminClient, group: str, ranges: list[Range]) -> int:
    """Inputs of the range the live agent's group has not committed (read, never changed):
    their historical outputs may not exist yet."""
    spans = [r for r in ranges if r.size]
    try:
        committed = committed_offsets(admin, group, [(r.topic, r.partition) for r in spans], 30)
    except Exception:  # advisory only
        return 0
    return sum(
        max(0, r.end - max(committed.get((r.topic, r.partition), -1), r.start)) for r in spans
    )


def _served(
    options: ReplayOptions, new: Agent, recorded: RecordedCalls | None,
    recorded_steps: RecordedSteps | None,
) -> tuple[LLM, StepsFromRecord | None]:  # fmt: skip
    """The LLM the new version calls, and what serves its steps (None: they run); the
    audit's record is read once, when either comes from it."""
    store: AuditStore | None = None

    def record() -> AuditStore:
        nonlocal store
        if store is None:
            from hivebus.replay.audit_record import audit_record  # only `record` needs it

            needs = "recorded LLM responses" if options.llm == "record" else "recorded steps"
            store = audit_record(options.agent, options.start_ms, options.timeout_s, needs)
        return store

    if options.llm == "live":
        llm = LLM.from_env().for_agent(new.name)
    else:
        from hivebus.replay.audit_record import AuditCalls

        calls = recorded if recorded is not None else AuditCalls(record(), durable=new.durable)
        provider = RecordedProvider(calls, options.agent)
        llm = LLM(provider, model=LLMSettings.from_env().model, agent=new.name)
    if options.tools == "live":
        return llm, None
    from hivebus.replay.audit_record import AuditSteps

    steps = (
        recorded_steps if recorded_steps is not None else AuditSteps(record(), durable=new.durable)
    )
    return llm, StepsFromRecord(steps, options.agent)


def _decode(serde: Serde, produced: list[Produced]) -> dict[str, list[Output]]:
    """The new version's outputs by cause (records on system topics left out)."""
    found: dict[str, list[Output]] = {}
    for record in produced:
        if record.topic.startswith(SYSTEM_PREFIX):
            continue
        cause, _, output = output_of(
            serde, record.topic, record.key, record.value, record.headers, record.where
        )
        if cause is not None:
            found.setdefault(cause, []).append(output)
    return found


def _live_output_topics(
    new: Agent, produced: list[Produced], agent: str, serde: Serde
) -> list[str]:
    """Where the live agent's outputs may be: what the new version declares or wrote, and
    what the live agent last announced in the directory (a topic the new version dropped)."""
    topics = set(new.outputs) | {record.topic for record in produced}
    try:
        view = read_directory(serde, timeout_s=5.0).get(agent)
    except Exception:  # the directory is advisory
        view = None
    if view is not None:
        topics |= set(view.latest.outputs)
    return sorted(t for t in topics if not t.startswith(SYSTEM_PREFIX))
