"""`hivebus dev demo orchestrator`: a research orchestrator and its three worker types.

`agents/research_team.py` runs in its own worker process, against the local web and
scripted model of research_world.py. This process asks for leads, prints every task result
as a worker publishes it (which worker type, how long), and then the report the
orchestrator joined from them.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer

from hivebus.contracts import Serde, registry_client
from hivebus.dev.demo import wait_for_agents
from hivebus.dev.demo_worker import committed_reader, start_worker, stop_worker, worker_log
from hivebus.dev.research_world import ResearchWorld
from hivebus.kafka.admin import TopicSpec, admin_client, ensure_topics
from hivebus.patterns import WorkResult
from hivebus.runtime import Publisher
from hivebus.runtime.loader import import_file

Say = Callable[[str], None]
AGENTS = ("research-orchestrator", "research-orchestrator.runs", "searcher", "scraper",
          "extractor")  # fmt: skip


def run(agents_dir: Path, say: Say = print) -> tuple[Any, list[WorkResult]]:
    """Run the demo; returns the report and the task results seen."""
    contracts = import_file((agents_dir / "contracts.py").resolve())
    module = import_file((agents_dir / "research_team.py").resolve())
    ensure_topics(admin_client(), [TopicSpec("research.requested", 3),
                                   TopicSpec("research.reports", 3),
                                   *module.pool.topic_specs()])  # fmt: skip
    serde = Serde(registry_client())
    world = ResearchWorld(llm_latency_s=0.5).start()
    env = {**os.environ, "RESEARCH_WEB_URL": world.web_url, "HIVEBUS_LLM_BASE_URL": world.llm_url,
           "HIVEBUS_LLM_API_KEY": "demo", "HIVEBUS_LLM_MODEL": "scripted-scout"}  # fmt: skip
    log = worker_log("orchestrator")
    worker = start_worker(agents_dir, "research_team.py", log, say, env=env)
    reader = committed_reader(["research.results", "research.reports"])
    try:
        wait_for_agents(serde, worker, say, AGENTS)
        request = contracts.LeadRequest(id=f"req-{uuid.uuid4().hex[:6]}", topic="heat pumps",
                                        market="Germany", requested_by="demo")  # fmt: skip
        correlation = asyncio.run(_publish(request))
        say(f"\n== asked for leads ({request.id}); the orchestrator hands out tasks ==")
        results, report = _follow(reader, serde, contracts, request.id, correlation, say)
        say(f"\n== {report.summary} ==")
        for lead in report.leads:
            say(f"   {lead.company:<22} {lead.why}")
        return report, results
    finally:
        reader.close()
        world.stop()
        stop_worker(worker, log, say)


async def _publish(request: Any) -> str:
    async with Publisher("demo") as publisher:
        return await publisher.publish("research.requested", request, key=request.id)


def _follow(
    reader: Consumer, serde: Serde, contracts: Any, request_id: str, correlation: str, say: Say
) -> tuple[list[WorkResult], Any]:
    results: list[WorkResult] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        message = reader.poll(0.2)
        if message is None or message.error() is not None:
            continue
        if message.topic() == "research.results":
            result = serde.decode(message.value() or b"", WorkResult)
            if result.correlation_id != correlation:
                continue
            results.append(result)
            state = "ok" if result.ok else f"failed: {result.error}"
            say(
                f"   {result.kind:<8} by {result.worker:<10} {result.duration_ms:>6.0f} ms  {state}"
            )
            continue
        report = serde.decode(message.value() or b"", contracts.LeadReport)
        if report.request_id == request_id:
            return results, report
    raise TimeoutError("no report within 120 s; see the worker's log")
