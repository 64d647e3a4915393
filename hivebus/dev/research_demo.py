"""`hivebus dev demo research`: the 14-step lead-scouting run, killed at step 11 and resumed.

The agent (`agents/research.py`) runs in its own worker process (`hivebus run`), as it would
in a container, against a local web and a scripted chat model (research_world.py) that count
every call. This process publishes one `LeadRequest`, prints each step as the run's journal
records it, kills the worker with SIGKILL while step 11 (an LLM call) is in flight, starts a
new worker, and shows the run going on from step 11. It then approves the report as a human
would (`hivebus runs signal`) and prints the published `LeadReport` and what was called how
often: every finished step once, only the step in flight at the kill twice.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hivebus.contracts import Serde, registry_client
from hivebus.dev.demo import wait_for_agents
from hivebus.dev.research_world import ResearchWorld
from hivebus.durable import RunJournal
from hivebus.durable import signal as send_signal
from hivebus.durable.reader import read_journals
from hivebus.kafka.admin import TopicSpec, admin_client, ensure_topics
from hivebus.runtime import Publisher
from hivebus.runtime.loader import import_file
from hivebus.testing.reader import read_events

Say = Callable[[str], None]
AGENT = "lead-scout"
STEPS, KILL_AT = 14, 11
SESSION = ["--consumer-config", "session.timeout.ms=6000",
           "--consumer-config", "heartbeat.interval.ms=1000"]  # fmt: skip


def run(agents_dir: Path, say: Say = print, llm_latency_s: float = 1.5) -> Any:
    """Run the demo; returns the published report."""
    contracts = import_file((agents_dir / "contracts.py").resolve())
    ensure_topics(admin_client(), [TopicSpec("leads.requested", 3), TopicSpec("leads.reports", 3)])
    serde = Serde(registry_client())
    world = ResearchWorld(llm_latency_s=llm_latency_s).start()
    state = Path(os.environ.get("HIVEBUS_STATE_DIR") or ".hivebus")
    log = state / "research-worker.log"
    env = {**os.environ, "RESEARCH_WEB_URL": world.web_url, "HIVEBUS_LLM_BASE_URL": world.llm_url,
           "HIVEBUS_LLM_API_KEY": "demo", "HIVEBUS_LLM_MODEL": "scripted-scout"}  # fmt: skip
    worker = _start_worker(agents_dir, log, env, say)
    try:
        wait_for_agents(serde, worker, say, (AGENT, f"{AGENT}.runs"))
        request = contracts.LeadRequest(id=f"req-{uuid.uuid4().hex[:6]}", topic="heat pumps",
                                        market="Germany", requested_by="demo")  # fmt: skip
        run_id = asyncio.run(_publish(request))
        say(f"\n== published {request.id}: leads for {request.topic} in {request.market}; "
            f"run {run_id} ==")  # fmt: skip
        shown = _follow(serde, run_id, say, until=lambda j: len(j.steps) >= KILL_AT - 1)
        say(f"\n== step {KILL_AT} is in flight (an LLM call): kill -9 the worker ==")
        worker.kill()
        worker.wait(10)
        killed = time.monotonic()
        say(f"   LLM calls made so far: {sum(world.llm_calls.values())}; the run's journal holds "
            f"{shown} finished steps")  # fmt: skip
        say("\n== start a new worker: it restores the run from the journal and goes on "
            "(the broker notices the dead one within its 6 s session) ==")  # fmt: skip
        worker = _start_worker(agents_dir, log, env, say)
        shown = _follow(serde, run_id, say, shown, until=lambda j: len(j.steps) >= KILL_AT)
        say(f"   (step {KILL_AT} done {time.monotonic() - killed:.0f} s after the kill)")
        shown = _follow(serde, run_id, say, shown, until=lambda j: j.state == "waiting")
        say('\n== the report waits for a human: hivebus runs signal lead-scout '
            f"{run_id} approval --json '{{\"by\": \"ada\"}}' ==")  # fmt: skip
        asyncio.run(send_signal(AGENT, run_id, "approval", {"by": "ada"}, source="demo"))
        _follow(serde, run_id, say, shown, until=lambda j: j.state == "completed")
        report = _report(serde, contracts, request.id)
        _summary(report, world, say)
        return report
    finally:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            worker.wait(60)
        world.stop()
        say(f"worker stopped; its log: {log}")


def _start_worker(
    agents_dir: Path, log: Path, env: dict[str, str], say: Say
) -> subprocess.Popen[bytes]:
    log.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "hivebus.cli", "run", str(agents_dir / "research.py"),
               "--heartbeat", "2", "--grace", "2", *SESSION]  # fmt: skip
    say("starting a worker: hivebus run agents/research.py")
    with log.open("ab") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)


async def _publish(request: Any) -> str:
    async with Publisher("demo") as publisher:
        return await publisher.publish("leads.requested", request, key=request.id)


def _follow(
    serde: Serde, run_id: str, say: Say, shown: int = 0, *, until: Callable[[RunJournal], bool]
) -> int:
    """Print the run's steps as its journal records them, until `until` holds; returns how
    many steps have been printed."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        journal = read_journals(serde, AGENT).get(run_id)
        if journal is not None:
            steps = sorted(journal.steps, key=lambda step: step.seq)
            for step in steps[shown:]:
                llm = (f"  LLM {step.prompt_tokens}+{step.completion_tokens} tokens"
                       if step.llm_requests else "")  # fmt: skip
                say(f"   step {step.seq + 1:>2}/{STEPS}  {_label(step.name):<22} "
                    f"{step.duration_ms:>7.0f} ms{llm}")  # fmt: skip
            shown = max(shown, len(steps))
            if until(journal):
                return shown
        time.sleep(0.2)
    raise TimeoutError(f"run {run_id} did not get there within 180 s")


def _label(name: str) -> str:
    return "wait for approval" if name == "hivebus:wait:approval" else name


def _report(serde: Serde, contracts: Any, request_id: str) -> Any:
    found = asyncio.run(read_events(serde, "leads.reports", contracts.LeadReport, 10_000,
                                    timeout_s=5, committed_only=True))  # fmt: skip
    reports = [r.event for r in found if r.event.request_id == request_id]
    if len(reports) != 1:
        raise RuntimeError(f"expected one report for {request_id}, found {len(reports)}")
    return reports[0]


def _summary(report: Any, world: ResearchWorld, say: Say) -> None:
    say(f"\n== published LeadReport for {report.request_id}, approved by {report.approved_by} ==")
    for lead in report.leads:
        say(f"   {lead.company:<20} {lead.why}")
    say(f"   {report.summary}")
    llm = sum(world.llm_calls.values())
    say("\n== what was called ==")
    say(f"   LLM calls: {llm} for 4 LLM steps "
        f"({', '.join(f'{k} {v}' for k, v in world.llm_calls.items())})")  # fmt: skip
    say(f"   web calls: {sum(world.web_calls.values())} for 8 tool steps "
        f"(each once: {all(v == 1 for v in world.web_calls.values())})")  # fmt: skip
    again = [kind for kind, n in world.llm_calls.items() if n > 1]
    say("   only the step in flight at the kill ran twice: " + (", ".join(again) or "none"))
