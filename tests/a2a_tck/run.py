"""The A2A conformance kit against the gateway: `python -m tests.a2a_tck.run --tck DIR`.

Starts, on the stack the environment names (the local `hivebus dev` stack otherwise, as the
tests find it), a durable agent that does what the kit asks of a system under test
(tests/integration/agents/a2a_tck.py, as `hivebus run`), and `hivebus gateway` in front of
it. Then runs the kit (`run_tck.py --sut-host <the agent's endpoint>`) once per level and
transport, and prints the passed / failed / skipped / expected-failure counts of each, with
the requirements that failed. The kit is not part of hivebus: fetch a2aproject/a2a-tck,
branch 1.0-dev, and install it in its own virtual environment (see run.sh beside this).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

from hivebus.contracts import register, registry_client
from hivebus.contracts.endpoints import REGISTRY_ENV
from hivebus.gateway.a2a import A2AMessage
from hivebus.kafka.admin import TopicSpec, admin_client, ensure_topics
from hivebus.kafka.endpoints import BOOTSTRAP_ENV
from hivebus.testing.stack import provide_stack, unique_name
from tests.integration.ports import free_ports

ROOT = Path(__file__).resolve().parents[2]
AGENT_FILE = ROOT / "tests" / "integration" / "agents" / "a2a_tck.py"
LEVELS, TRANSPORTS = ("must", "should", "may"), ("jsonrpc", "http_json")
START_S = 90.0
COUNTED = ("passed", "failed", "skipped", "xfailed", "xpassed", "error", "errors")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tck", type=Path, required=True, help="the a2a-tck checkout (1.0-dev)")
    parser.add_argument("--tck-python", help="its venv's python (default: DIR/.venv/bin/python)")
    parser.add_argument("--levels", default=",".join(LEVELS))
    parser.add_argument("--transports", default=",".join(TRANSPORTS))
    parser.add_argument("--logs", type=Path, default=Path("/tmp/a2a-tck-logs"))
    args = parser.parse_args()
    python = args.tck_python or str(args.tck / ".venv" / "bin" / "python")
    args.logs.mkdir(parents=True, exist_ok=True)
    with provide_stack(progress=lambda line: print(line, file=sys.stderr)) as stack:
        os.environ[BOOTSTRAP_ENV] = stack.bootstrap_servers  # for the agent and the gateway
        os.environ[REGISTRY_ENV] = stack.registry_url
        with system_under_test(args.logs) as sut:
            print(f"system under test: {sut}", file=sys.stderr)
            rows = [
                run_kit(args.tck, python, sut, level, transport, args.logs)
                for level in args.levels.split(",")
                for transport in args.transports.split(",")
            ]
    print(f"\n{'level':<7} {'transport':<10} " + " ".join(f"{c:>8}" for c in COUNTED[:5]))
    for level, transport, counts, failed, requirements in rows:
        cells = " ".join(f"{counts.get(c, 0):>8}" for c in COUNTED[:5])
        print(f"{level:<7} {transport:<10} {cells}   requirements: {requirements}")
        for name in failed:
            print(f"        failed: {name}")
    return 1 if any(row[2].get("failed") for row in rows if row[0] == "must") else 0


@contextmanager
def system_under_test(logs: Path) -> Iterator[str]:
    """The kit's agent and a gateway in front of it; yields the agent's A2A endpoint."""
    name = unique_name("tck-sut")
    source, output = f"{name}.messages", f"{name}.replies"
    ensure_topics(admin_client(), [TopicSpec(source, 3), TopicSpec(output, 3)])
    register(registry_client(), A2AMessage.contract(), source)
    [port] = free_ports(1)
    tck = {"A2A_TCK_AGENT": name, "A2A_TCK_SOURCE": source, "A2A_TCK_OUTPUT": output}
    env = {**os.environ, **tck}
    hivebus = [sys.executable, "-m", "hivebus.cli"]
    with ExitStack() as stack:
        stack.enter_context(_process([*hivebus, "run", str(AGENT_FILE)], env, logs / "agent.log"))
        gateway = [*hivebus, "gateway", "--port", str(port)]
        stack.enter_context(_process(gateway, env, logs / "gateway.log"))
        endpoint = f"http://127.0.0.1:{port}/a2a/agents/{name}"
        _wait_for(f"{endpoint}/.well-known/agent-card.json")
        yield endpoint


def run_kit(
    tck: Path, python: str, sut: str, level: str, transport: str, logs: Path
) -> tuple[str, str, dict[str, int], list[str], str]:
    """One run of the kit: its counts (pytest's summary line), the failed tests, and how
    the requirements of the level came out (the kit's compatibility report)."""
    command = [python, "run_tck.py", "--sut-host", sut, "--transport", transport, "--level", level]
    command += ["--", "-rs"]  # the reason of each skip, in the log
    print(f"running the kit: {level} / {transport}", file=sys.stderr)
    done = subprocess.run(command, cwd=tck, capture_output=True, text=True, check=False)
    output = done.stdout + done.stderr
    (logs / f"tck-{level}-{transport}.log").write_text(output)
    counts = _counts(output)
    failed = sorted(set(re.findall(r"^FAILED (\S+::\S+)", output, re.MULTILINE)))
    report, requirements = tck / "reports" / "compatibility.json", ""
    if report.exists():
        (logs / f"compatibility-{level}-{transport}.json").write_text(report.read_text())
        found = json.loads(report.read_text())["per_requirement"].values()
        tested = Counter(
            r["status"] for r in found if r["level"] == level.upper() and r["transports"]
        )
        requirements = ", ".join(f"{n} {status}" for status, n in sorted(tested.items()))
    return level, transport, counts, failed, requirements


def _counts(output: str) -> dict[str, int]:
    """From pytest's last summary line, e.g. `== 40 passed, 2 failed, 3 skipped in 9.1s ==`."""
    lines = [
        line for line in output.splitlines() if re.search(r"\d+ (passed|failed).* in [\d.]+s", line)
    ]
    if not lines:
        return {}
    found = re.findall(r"(\d+) (\w+)", lines[-1])
    counts = {kind: int(number) for number, kind in found}
    if "errors" in counts:
        counts["error"] = counts.pop("errors")
    return counts


@contextmanager
def _process(command: list[str], env: dict[str, str], log: Path) -> Iterator[None]:
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_for(url: str) -> None:
    """Until the gateway answers with the agent's card: the agent is in the directory."""
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"no card at {url} after {START_S:.0f} s: see the logs")


if __name__ == "__main__":
    sys.exit(main())
