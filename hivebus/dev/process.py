"""Starting, finding and stopping the stack's JVM processes by pid file.

Each process gets a `-Dhivebus.stack=<state dir>` marker on its command line; a pid counts as
ours only while /proc shows that marker, so `down` never signals a recycled pid or a process
that another state directory (or someone else) started.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path


def marker(state_dir: Path) -> str:
    return f"-Dhivebus.stack={state_dir}"


def spawn(
    command: Sequence[str],
    *,
    log_file: Path,
    pid_file: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start a detached process (own session) that outlives the CLI, logging to `log_file`."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        child = subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            start_new_session=True,
        )
    pid_file.write_text(f"{child.pid}\n")
    return child


def running_pid(pid_file: Path, mark: str) -> int | None:
    """The pid in `pid_file` if that process is alive and carries our marker."""
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    if _exited(pid):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    return pid if mark.encode() in cmdline else None


def stop(pid_file: Path, mark: str, timeout_s: float = 30.0) -> bool:
    """SIGTERM our process, SIGKILL it after `timeout_s`; True if one was running."""
    pid = running_pid(pid_file, mark)
    if pid is None:
        pid_file.unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    # Wait on the pid itself: an exiting process loses its cmdline (and so our marker)
    # before it is gone.
    while not _exited(pid):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 5
        time.sleep(0.1)
    pid_file.unlink(missing_ok=True)
    return True


def rss_mb(pid: int) -> float | None:
    """Resident memory of a process in MiB, from /proc."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _exited(pid: int) -> bool:
    """True once every thread of `pid` is gone or a zombie; reaps it if it is our child.

    A JVM's main thread exits (and shows as a zombie) while its other threads still shut
    down, so the leader's state alone would report "stopped" too early.
    """
    try:
        states = [_state(task / "stat") for task in Path(f"/proc/{pid}/task").iterdir()]
    except FileNotFoundError:
        return True
    if any(state not in ("Z", "X", None) for state in states):
        return False
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    return True


def _state(stat_file: Path) -> str | None:
    try:
        return stat_file.read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None
