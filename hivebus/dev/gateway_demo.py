"""`hivebus dev demo gateway`: a task over HTTP, followed live, approved by a human, on the
dashboard.

It starts the lead-scouting agent (`agents/research.py`) in a worker process against the
local fake web and model (research_world.py), and `hivebus gateway` in another process,
both as they would run in containers. Then it acts as a client would: `POST /v1/tasks`
(answered 202 at once while the run takes a minute), the task's Server-Sent Events printed
as they come, the approval the run waits for sent as a signal over HTTP, and the result.
With `--serve` (on a terminal) the gateway and the agent stay up afterwards, for the
dashboard and `curl`, until Ctrl-C.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from hivebus.contracts import Serde, registry_client
from hivebus.dev.demo import wait_for_agents
from hivebus.dev.research_world import ResearchWorld
from hivebus.kafka.admin import TopicSpec, admin_client, ensure_topics
from hivebus.runtime.loader import import_file

Say = Callable[[str], None]
AGENT = "lead-scout"
PORT_ENV = "HIVEBUS_DEMO_GATEWAY_PORT"
DEFAULT_PORT = 8080
SESSION = ["--consumer-config", "session.timeout.ms=6000",
           "--consumer-config", "heartbeat.interval.ms=1000"]  # fmt: skip


def run(agents_dir: Path, say: Say = print, *, serve: bool = False,
        llm_latency_s: float = 1.0) -> dict[str, Any]:  # fmt: skip
    """Run the demo; returns the task's final status (as `GET /v1/tasks/{id}` answers)."""
    port = int(os.environ.get(PORT_ENV, DEFAULT_PORT))
    url = f"http://127.0.0.1:{port}"
    ensure_topics(admin_client(), [TopicSpec("leads.requested", 3), TopicSpec("leads.reports", 3)])
    contracts = import_file((agents_dir / "contracts.py").resolve())
    serde = Serde(registry_client())
    serde.encoder("leads.requested", contracts.LeadRequest)  # the contract the gateway checks
    world = ResearchWorld(llm_latency_s=llm_latency_s).start()
    state = Path(os.environ.get("HIVEBUS_STATE_DIR") or ".hivebus")
    state.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "RESEARCH_WEB_URL": world.web_url, "HIVEBUS_LLM_BASE_URL": world.llm_url,
           "HIVEBUS_LLM_API_KEY": "demo", "HIVEBUS_LLM_MODEL": "scripted-scout"}  # fmt: skip
    env.pop("HIVEBUS_GATEWAY_KEYS", None)  # the demo's gateway is open, on loopback only
    worker_cmd = ["run", str(agents_dir / "research.py"), "--heartbeat", "2", "--grace", "2",
                  *SESSION]  # fmt: skip
    say("starting a worker: hivebus run agents/research.py")
    worker = _start(worker_cmd, state / "gateway-demo-worker.log", env)
    say(f"starting the gateway: hivebus gateway --port {port}")
    gateway = _start(["gateway", "--port", str(port)], state / "gateway-demo.log", env)
    try:
        wait_for_agents(serde, worker, say, (AGENT, f"{AGENT}.runs"))
        _wait_healthy(url, gateway)
        final = _one_task(url, say)
        say(f"\n== the dashboard: {url}/dashboard ==")
        say(f"   a task's status:  curl -s {url}/v1/tasks/{final['id']}")
        say(f"   its event stream: curl -N {url}/v1/tasks/{final['id']}/events")
        if serve and sys.stdin.isatty():
            say("   the gateway and the agent stay up; Ctrl-C stops them")
            _hold(worker, gateway)
        elif serve:
            say("   (--serve holds only on a terminal: stopping)")
        return final
    finally:
        for process in (gateway, worker):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(60)
        world.stop()
        say(f"gateway and worker stopped; their logs: {state}/gateway-demo*.log")


def _one_task(url: str, say: Say) -> dict[str, Any]:
    body = {"agent": AGENT, "input": {"id": f"req-{int(time.time())}", "topic": "heat pumps",
                                      "market": "Germany", "requested_by": "demo"}}  # fmt: skip
    with httpx.Client(base_url=url, timeout=30) as client:
        started = time.perf_counter()
        answer = client.post("/v1/tasks", json=body)
        elapsed_ms = 1000 * (time.perf_counter() - started)
        if answer.status_code != 202:
            raise RuntimeError(f"POST /v1/tasks answered {answer.status_code}: {answer.text}")
        task = answer.json()
        say(f"\n== POST /v1/tasks -> 202 in {elapsed_ms:.0f} ms: task {task['id']} ==")
        say(f"   following {task['events_url']} (Server-Sent Events)")
        for event in _events(client, f"/v1/tasks/{task['id']}/events"):
            say("   " + _line(event))
            if event["event"] == "waiting":
                say(f"   -> a human approves: POST /v1/tasks/{task['id']}/signals/approval")
                signalled = client.post(f"/v1/tasks/{task['id']}/signals/approval",
                                        json={"by": "ada"})  # fmt: skip
                if signalled.status_code != 202:
                    raise RuntimeError(f"the signal was answered {signalled.status_code}")
        status = client.get(f"/v1/tasks/{task['id']}").json()
    say(f"\n== task {status['id']}: {status['state']}, {len(status['steps'])} steps ==")
    result = status.get("result") or {}
    for lead in result.get("leads", []):
        say(f"   {lead.get('company', '?'):<20} {lead.get('why', '')}")
    return dict(status)


def _events(client: httpx.Client, path: str) -> Iterator[dict[str, Any]]:
    """The stream's events (their JSON `data`), to its end."""
    with client.stream("GET", path, timeout=httpx.Timeout(30, read=300)) as response:
        for line in response.iter_lines():
            if line.startswith("data:"):
                yield json.loads(line[len("data:") :].strip())


def _line(event: dict[str, Any]) -> str:
    kind = event["event"]
    if kind == "step":
        took = event.get("duration_ms")
        ms = f"{took:>7.0f} ms" if isinstance(took, int | float) else ""
        return f"[{event['id']:>8}] step {event.get('position', 0) + 1:>2}  " \
               f"{event.get('name', ''):<24} {ms}"  # fmt: skip
    if kind == "waiting":
        return f"[{event['id']:>8}] waiting for signal {event.get('signal')!r} (input-required)"
    return f"[{event['id']:>8}] {kind}  state {event.get('state')}"


def _start(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "hivebus.cli", *args], stdout=out,
                                stderr=subprocess.STDOUT, env=env)  # fmt: skip


def _wait_healthy(url: str, gateway: subprocess.Popen[bytes], timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if gateway.poll() is not None:
            raise RuntimeError(f"the gateway exited ({gateway.returncode}); see its log")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"the gateway at {url} did not answer /healthz within {timeout_s:.0f} s")


def _hold(*processes: subprocess.Popen[bytes]) -> None:
    try:
        while all(process.poll() is None for process in processes):
            time.sleep(1)
    except KeyboardInterrupt:
        pass
