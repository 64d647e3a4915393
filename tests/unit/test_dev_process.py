"""Pid files count only while the process carries our marker, and stop waits for the exit."""

from __future__ import annotations

import sys
from pathlib import Path

from hivebus.dev import process

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def test_a_pid_without_our_marker_is_not_ours(tmp_path: Path) -> None:
    pid_file = tmp_path / "x.pid"
    child = process.spawn(SLEEPER, log_file=tmp_path / "x.log", pid_file=pid_file)
    try:
        assert process.running_pid(pid_file, "-Dhivebus.stack=/somewhere/else") is None
        assert process.stop(pid_file, "-Dhivebus.stack=/somewhere/else") is False
        assert child.poll() is None  # a foreign marker never gets signalled
    finally:
        child.kill()
        child.wait()


def test_stop_ends_our_process_and_clears_the_pid_file(tmp_path: Path) -> None:
    pid_file, mark = tmp_path / "x.pid", process.marker(tmp_path)
    child = process.spawn([*SLEEPER, mark], log_file=tmp_path / "x.log", pid_file=pid_file)
    for _ in range(50):
        if process.running_pid(pid_file, mark) == child.pid:
            break
        process.time.sleep(0.05)
    assert process.running_pid(pid_file, mark) == child.pid
    assert process.stop(pid_file, mark, timeout_s=10) is True
    assert not Path(f"/proc/{child.pid}").exists()
    assert not pid_file.exists()


def test_a_stale_pid_file_reads_as_not_running(tmp_path: Path) -> None:
    pid_file = tmp_path / "x.pid"
    pid_file.write_text("999999999\n")
    assert process.running_pid(pid_file, "-Dhivebus.stack=x") is None
