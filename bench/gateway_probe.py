"""What the gateway bench reads with: a small SSE client on raw asyncio streams, and the
gateway process's memory and CPU from /proc.

The client is raw asyncio rather than httpx so that holding 1,000 streams costs the bench's
own process (which shares the machine's two cores with the gateway) as little as possible.
The decoders are pure, so they are unit-tested (tests/unit/test_bench_gateway.py).
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class SseEvent:
    id: str | None
    event: str
    data: str


class Dechunker:
    """An HTTP/1.1 chunked body, fed as it arrives, handed back as plain body bytes."""

    def __init__(self) -> None:
        self._buffer = b""
        self._left = 0  # bytes of the current chunk still to come
        self._crlf = False  # the CRLF that closes a chunk is still to come
        self.done = False  # the last (empty) chunk has come

    def feed(self, data: bytes) -> bytes:
        self._buffer += data
        out: list[bytes] = []
        while not self.done:
            if self._left:
                taken = self._buffer[: self._left]
                out.append(taken)
                self._buffer = self._buffer[len(taken) :]
                self._left -= len(taken)
                if self._left:
                    break
                self._crlf = True
            if self._crlf:
                if len(self._buffer) < 2:
                    break
                self._buffer, self._crlf = self._buffer[2:], False
            end = self._buffer.find(b"\r\n")
            if end < 0:
                break
            size = int(self._buffer[:end].split(b";")[0], 16)
            self._buffer = self._buffer[end + 2 :]
            if size == 0:
                self.done = True
            self._left = size
        return b"".join(out)


class SseDecoder:
    """Server-Sent Events out of a body fed in pieces; comment lines (keep-alives) counted.
    Lines end in LF or CRLF (sse-starlette writes CRLF); a lone CR is not taken as an end."""

    def __init__(self) -> None:
        self._buffer = b""
        self._fields: dict[str, str] = {}
        self._data: list[str] = []
        self.comments = 0

    def feed(self, body: bytes) -> list[SseEvent]:
        *lines, self._buffer = (self._buffer + body).split(b"\n")
        events = []
        for raw in lines:
            line = raw.rstrip(b"\r").decode()
            if not line:
                if self._data or self._fields:
                    events.append(
                        SseEvent(
                            self._fields.get("id"),
                            self._fields.get("event", "message"),
                            "\n".join(self._data),
                        )
                    )
                self._fields, self._data = {}, []
            elif line.startswith(":"):
                self.comments += 1
            else:
                name, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if name == "data":
                    self._data.append(value)
                elif name in ("id", "event"):
                    self._fields[name] = value
        return events


@dataclass
class Stream:
    """One client's stream of a task: every event with when it came (perf_counter)."""

    path: str
    opened_at: float = 0.0
    events: list[tuple[float, SseEvent]] = field(default_factory=list)
    comments: int = 0
    status: int = 0
    ended_at: float | None = None  # the server ended the stream (after a terminal event)
    error: str | None = None

    def first(self, *, after: float = 0.0, kind: str | None = None) -> float | None:
        """When the first event (of `kind`) came after `after`, or None."""
        return next(
            (t for t, e in self.events if t >= after and (kind is None or e.event == kind)),
            None,
        )

    def seen(self, kind: str) -> bool:
        return any(e.event == kind for _, e in self.events)


async def follow(host: str, port: int, stream: Stream) -> None:
    """Read `stream.path` over one connection until the server ends it (or the task that
    runs this is cancelled, which closes the connection: the client went away)."""
    writer = None
    try:
        stream.opened_at = time.perf_counter()
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(
            f"GET {stream.path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            "Accept: text/event-stream\r\n\r\n".encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        stream.status = int(head.split(b" ", 2)[1])
        chunked = b"transfer-encoding: chunked" in head.lower()
        dechunk, decoder = Dechunker(), SseDecoder()
        while True:
            data = await reader.read(65536)
            if not data:
                break
            now = time.perf_counter()
            body = dechunk.feed(data) if chunked else data
            stream.events += [(now, event) for event in decoder.feed(body)]
            stream.comments = decoder.comments
            if dechunk.done:
                break
        stream.ended_at = time.perf_counter()
    except (OSError, asyncio.IncompleteReadError, ValueError) as error:
        stream.error = f"{type(error).__name__}: {error}"
    finally:
        if writer is not None:
            writer.close()


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def stat_cpu_s(text: str, ticks_per_s: int = CLOCK_TICKS) -> float:
    """User + system CPU seconds (every thread) from the text of /proc/<pid>/stat."""
    fields = text[text.rfind(")") + 2 :].split()  # fields from the 3rd (state) on
    return (int(fields[11]) + int(fields[12])) / ticks_per_s  # utime, stime: 14th, 15th


def status_rss_kib(text: str) -> int:
    """VmRSS (KiB) from the text of /proc/<pid>/status."""
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise ValueError("no VmRSS line (the process has exited?)")


def cpu_s(pid: int) -> float:
    return stat_cpu_s(Path(f"/proc/{pid}/stat").read_text())


def rss_mib(pid: int) -> float:
    return status_rss_kib(Path(f"/proc/{pid}/status").read_text()) / 1024


class CpuWindow:
    """A process's CPU use over a stretch of wall time, as % of one core."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._cpu, self._wall = cpu_s(pid), time.perf_counter()

    def percent(self) -> float:
        return cpu_percent(self._cpu, cpu_s(self.pid), time.perf_counter() - self._wall)


def cpu_percent(before_s: float, after_s: float, wall_s: float) -> float:
    """CPU seconds used over `wall_s` seconds, as % of one core (200 % is both of two)."""
    return 100.0 * (after_s - before_s) / wall_s if wall_s > 0 else 0.0


def quantile(values: list[float], q: float) -> float:
    """The nearest-rank quantile the other workloads use (nan when there is nothing)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def summary_ms(seconds: list[float]) -> dict[str, float]:
    """p50, p99 and max, in milliseconds, of durations in seconds."""
    return {
        "p50_ms": 1000 * quantile(seconds, 0.5),
        "p99_ms": 1000 * quantile(seconds, 0.99),
        "max_ms": 1000 * max(seconds) if seconds else float("nan"),
        "n": len(seconds),
    }
