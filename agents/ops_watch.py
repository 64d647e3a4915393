"""Proactive operations: a detector watches service metrics, and a root-cause agent
investigates each anomaly before anyone asks.

- `latency-watch` reads `ops.metrics` (`ServiceMetric`, keyed by `<service>/<name>`) and
  publishes `AnomalyDetected` to `ops.anomalies` when a value is more than 4 standard
  deviations from its series' last 60.
- `root-cause` (durable) reacts to each anomaly: it asks three tools at once through the
  `ops-tools` fan-out (recent deploys, error logs, the health of dependencies), waits at
  most 5 s, has the LLM summarise what came back, and publishes a `RootCauseReport` to
  `ops.root-causes`.
- `ops-tools` is the tool worker. Its tools read this example's small fake estate (the
  `checkout` service had a deploy four minutes before its latency rose).

`hivebus dev demo proactive` runs it. Without `HIVEBUS_LLM_*` the offline model writes the
summaries.
"""

from __future__ import annotations

from typing import Any

from hivebus import Agent, Context, DurableContext
from hivebus.patterns import AnomalyDetected, ToolCall, Tools, ZScore, detector

from .ops_contracts import RootCauseReport, ServiceMetric

watch = detector(
    "latency-watch", "ops.metrics", ServiceMetric,
    series=lambda m: f"{m.service}/{m.name}", value=lambda m: m.value,
    observed_at=lambda m: m.at, anomalies="ops.anomalies",
    rule=ZScore(window=60, threshold=4.0, min_samples=20, cooldown=30),
)  # fmt: skip
tools = Tools("ops-tools")
DEPLOYS = {"checkout": ["checkout v2.14.0 deployed 4 min ago: connection pool 50 -> 5"]}
ERRORS = {"checkout": ["412 x TimeoutError: pool exhausted waiting for a connection"]}


async def recent_deploys(arguments: Any, ctx: Context) -> list[str]:
    return DEPLOYS.get(arguments["service"], [])


async def error_logs(arguments: Any, ctx: Context) -> list[str]:
    return ERRORS.get(arguments["service"], [])


async def dependencies(arguments: Any, ctx: Context) -> dict[str, str]:
    return {"postgres": "healthy", "payments-api": "healthy"}


tool_worker = tools.worker(
    "ops-tools",
    {"recent_deploys": recent_deploys, "error_logs": error_logs, "dependencies": dependencies},
    max_in_flight=32,
)
root_cause = Agent(
    "root-cause", version="1.0", durable=True, calls=tools.calls,
    description="Investigates each anomaly with its tools and an LLM, before anyone asks",
)  # fmt: skip


@root_cause.on("ops.anomalies", AnomalyDetected, output="ops.root-causes")
async def investigate(anomaly: AnomalyDetected, ctx: DurableContext) -> RootCauseReport:
    service = anomaly.series.split("/")[0]
    calls = [ToolCall(f"{anomaly.id}/{tool}", tool, {"service": service})
             for tool in ("recent_deploys", "error_logs", "dependencies")]  # fmt: skip
    found = await tools.fan_out(ctx, calls, timeout_s=5)
    evidence = [
        f"{call.name}: {found.values[call.id]}" for call in calls if call.id in found.values
    ]
    missing = [call.name for call in calls if call.id not in found.values]
    summary = await ctx.step(
        "summarise",
        ctx.llm.complete,
        f"{anomaly.series} is {anomaly.value:g}, expected about {anomaly.expected:g} "
        f"({anomaly.score:+.1f} standard deviations). Evidence:\n" + "\n".join(evidence)
        + "\nIn two sentences: the most likely root cause and the first thing to do.",
    )  # fmt: skip
    return RootCauseReport(anomaly_id=anomaly.id, series=anomaly.series, summary=summary.text,
                           evidence=evidence, missing=missing, model=summary.model)  # fmt: skip
