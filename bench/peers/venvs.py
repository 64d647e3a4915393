"""One virtual environment per peer framework, so that no framework's pins touch another's.

`ensure("faust")` creates `bench/.venvs/faust` (with `python3 -m venv`) and installs
`bench/peers/requirements/faust.txt` into it, unless a stamp file in the venv already records
the same requirements (by hash); it returns the venv's python. `ensure("restate")` also
installs the Restate server from npm (`ensure_restate_server()`: `@restatedev/restate-server`
into `bench/.venvs/restate-server`, skipped when that version is there). Run it as
`python3 bench/peers/venvs.py [env ...]` (no names: every environment) to prepare them ahead.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

PEERS = Path(__file__).resolve().parent
REQUIREMENTS = PEERS / "requirements"
VENVS = PEERS.parent / ".venvs"
ENVS = ("faststream-aiokafka", "faststream-confluent", "faust", "quix", "restate", "dbos",
        "autogen", "calfkit")  # fmt: skip
# system -> (venv, runner module): `bench/.venvs/<venv>/bin/python -m bench.peers.<module>`
SYSTEMS: dict[str, tuple[str, str]] = {
    "faststream-aiokafka": ("faststream-aiokafka", "faststream_aiokafka"),
    "faststream-aiokafka-workers": ("faststream-aiokafka", "faststream_aiokafka"),
    "faststream-confluent": ("faststream-confluent", "faststream_confluent"),
    "faststream-confluent-workers": ("faststream-confluent", "faststream_confluent"),
    "faust": ("faust", "faust_app"),
    "quix": ("quix", "quix_app"),
}
# The peers of the durable-runs workload (bench/durable.py), kept apart from `SYSTEMS` (whose
# runners do the Kafka workloads): system -> (venv, runner module), the same way.
DURABLE_SYSTEMS: dict[str, tuple[str, str]] = {
    "restate": ("restate", "restate_durable"),
    "dbos": ("dbos", "dbos_durable"),
    "dbos-postgres": ("dbos", "dbos_durable"),
}
# The peers of the patterns workload's fan-out (bench/patterns.py), the same way.
PATTERN_SYSTEMS: dict[str, tuple[str, str]] = {
    "autogen": ("autogen", "autogen_fanout"),
    "calfkit": ("calfkit", "calfkit_fanout"),
    "calfkit-kafka": ("calfkit", "calfkit_fanout"),
}
STAMP = ".hivebus-bench-stamp.json"
RESTATE_SERVER = ("@restatedev/restate-server", "1.7.12")
RESTATE_PREFIX = VENVS / "restate-server"


def _log(message: str) -> None:
    print(f"[venvs] {message}", file=sys.stderr, flush=True)


def _stamp(requirements: Path) -> dict[str, str]:
    return {
        "requirements": requirements.name,
        "sha256": hashlib.sha256(requirements.read_bytes()).hexdigest(),
    }


def _python(venv: Path) -> Path:
    return venv / "bin" / "python"


def ensure(system: str) -> Path:
    """Create or refresh the venv for `system` (an env name, or a system name of `SYSTEMS`,
    `DURABLE_SYSTEMS` or `PATTERN_SYSTEMS`) and return its python."""
    known = {**SYSTEMS, **DURABLE_SYSTEMS, **PATTERN_SYSTEMS}
    env = known[system][0] if system in known else system
    if env == "restate":
        ensure_restate_server()
    requirements = REQUIREMENTS / f"{env}.txt"
    if not requirements.is_file():
        raise ValueError(f"unknown peer environment {system!r} (known: {', '.join(ENVS)})")
    venv = VENVS / env
    stamp_path = venv / STAMP
    wanted = _stamp(requirements)
    python = _python(venv)
    if python.exists() and stamp_path.is_file():
        try:
            if json.loads(stamp_path.read_text()) == wanted:
                return python
        except ValueError:
            pass
    started = time.monotonic()
    if not python.exists():
        _log(f"{env}: creating {venv}")
        subprocess.run(["python3", "-m", "venv", str(venv)], check=True)
    stamp_path.unlink(missing_ok=True)
    _log(f"{env}: installing {requirements.relative_to(PEERS.parent.parent)}")
    pip = [str(python), "-m", "pip", "--disable-pip-version-check"]
    subprocess.run([*pip, "install", "--quiet", "--upgrade", "pip"], check=True, stdout=sys.stderr)
    subprocess.run(
        [*pip, "install", "--quiet", "-r", str(requirements)], check=True, stdout=sys.stderr
    )
    stamp_path.write_text(json.dumps(wanted))
    _log(f"{env}: ready in {time.monotonic() - started:.0f}s")
    return python


def ensure_restate_server() -> Path:
    """Install the Restate server from npm under `bench/.venvs/restate-server` (unless that
    version is there already) and return its executable."""
    name, wanted = RESTATE_SERVER
    binary = RESTATE_PREFIX / "node_modules" / ".bin" / "restate-server"
    package = RESTATE_PREFIX / "node_modules" / name / "package.json"
    try:
        if binary.exists() and json.loads(package.read_text()).get("version") == wanted:
            return binary
    except (OSError, ValueError):
        pass
    started = time.monotonic()
    _log(f"restate-server: npm install {name}@{wanted} into {RESTATE_PREFIX}")
    RESTATE_PREFIX.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["npm", "install", "--prefix", str(RESTATE_PREFIX), "--no-audit", "--no-fund",
         "--loglevel", "error", f"{name}@{wanted}"],
        check=True, stdout=sys.stderr,
    )  # fmt: skip
    _log(f"restate-server: ready in {time.monotonic() - started:.0f}s")
    return binary


def main(argv: list[str]) -> int:
    for system in argv or ENVS:
        print(ensure(system))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
