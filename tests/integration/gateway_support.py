"""Gateways as real processes for the gateway tests, and reading their streams."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from httpx_sse import aconnect_sse

from tests.integration.ports import free_ports

START_TIMEOUT_S = 60.0


@dataclass
class GatewayProcess:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        """kill -9: no goodbye to any client."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)


@contextmanager
def gateway(log_dir: Path, *options: str) -> Iterator[GatewayProcess]:
    """`hivebus gateway` on a free port, until the block ends (its log in `log_dir`)."""
    [port] = free_ports(1)
    log = log_dir / f"gateway-{port}.log"
    command = [sys.executable, "-m", "hivebus.cli", "gateway", "--port", str(port), *options]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=os.environ)
    running = GatewayProcess(f"http://127.0.0.1:{port}", process, log)
    try:
        _wait_ready(running)
        yield running
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                running.kill()


def _wait_ready(running: GatewayProcess) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if running.process.poll() is not None:
            raise RuntimeError(f"the gateway exited: {running.log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{running.url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"the gateway did not start: {running.log.read_text()[-3000:]}")


async def read_events(
    client: httpx.AsyncClient,
    url: str,
    *,
    last_event_id: str | None = None,
    stop_after: int | None = None,
    until_kind: str | None = None,
) -> list[dict[str, Any]]:
    """The SSE events of `url` (each as {"id", "event", "data"}), to the stream's end, or
    the first `stop_after` of them, or up to the first of kind `until_kind`."""
    headers = {"Last-Event-ID": last_event_id} if last_event_id is not None else {}
    events: list[dict[str, Any]] = []
    async with aconnect_sse(client, "GET", url, headers=headers) as source:
        source.response.raise_for_status()
        async for sse in source.aiter_sse():
            if not sse.data:  # a keep-alive comment (httpx-sse reports it as an empty event)
                continue
            events.append({"id": sse.id, "event": sse.event, "data": json.loads(sse.data)})
            if len(events) == stop_after or sse.event == until_kind:
                break
    return events
