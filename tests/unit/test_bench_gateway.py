"""The gateway bench (f): its SSE client's decoders, its /proc readings and its figures."""

from __future__ import annotations

from typing import Any

from bench.gateway import _figures, raise_open_files
from bench.gateway_probe import (
    Dechunker,
    SseDecoder,
    SseEvent,
    cpu_percent,
    quantile,
    stat_cpu_s,
    status_rss_kib,
    summary_ms,
)
from bench.report import _gateway

BODY = (
    b": ping - 2026-12-03\r\n\r\n"
    b'id: 0\r\nevent: submitted\r\ndata: {"id": "0"}\r\n\r\n'
    b"id: 1.waiting\r\nevent: waiting\r\ndata: line one\r\ndata: line two\r\n\r\n"
)


def chunked(body: bytes, size: int) -> bytes:
    parts = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


def test_a_chunked_body_comes_back_whole_however_the_bytes_are_split() -> None:
    wire = chunked(BODY, 7)
    for piece in (1, 2, 5, 64, len(wire)):
        dechunk = Dechunker()
        body = b"".join(dechunk.feed(wire[i : i + piece]) for i in range(0, len(wire), piece))
        assert body == BODY and dechunk.done


def test_events_and_keepalive_comments_are_read_across_pieces() -> None:
    decoder = SseDecoder()
    events = [e for i in range(0, len(BODY), 3) for e in decoder.feed(BODY[i : i + 3])]
    assert events == [
        SseEvent("0", "submitted", '{"id": "0"}'),
        SseEvent("1.waiting", "waiting", "line one\nline two"),
    ]
    assert decoder.comments == 1


def test_an_event_is_only_handed_out_once_its_blank_line_came() -> None:
    decoder = SseDecoder()
    assert decoder.feed(b"event: step\ndata: x\n") == []
    assert decoder.feed(b"\n") == [SseEvent(None, "step", "x")]


def test_cpu_seconds_are_utime_and_stime_of_every_thread() -> None:
    # pid (comm with spaces) state, then fields 4..; utime and stime are the 14th and 15th.
    stat = "4242 (python -m x) S " + " ".join(["0"] * 10) + " 250 150 7 8 20 0"
    assert stat_cpu_s(stat, ticks_per_s=100) == 4.0
    assert cpu_percent(10.0, 13.0, wall_s=2.0) == 150.0
    assert cpu_percent(1.0, 1.0, wall_s=0.0) == 0.0


def test_rss_comes_from_vmrss() -> None:
    assert status_rss_kib("Name:\tpython\nVmHWM:\t 9000 kB\nVmRSS:\t   81234 kB\n") == 81234


def test_summaries_are_nearest_rank_quantiles_in_milliseconds() -> None:
    seconds = [n / 1000 for n in range(1, 101)]
    assert quantile(seconds, 0.5) == 0.051
    assert summary_ms(seconds) == {"p50_ms": 51.0, "p99_ms": 100.0, "max_ms": 100.0, "n": 100}
    assert summary_ms([])["n"] == 0


def test_figures_leave_failed_tasks_out_and_keep_their_errors() -> None:
    outcomes = [{"accepted": 0.01, "completed": 0.2}, {"error": "stream: ended early"}]
    figures = _figures(outcomes)
    assert figures["accepted"]["p50_ms"] == 10.0 and figures["completed"]["n"] == 1
    assert (figures["done"], figures["total"], figures["errors"]) == (
        1,
        2,
        ["stream: ended early"],
    )


def test_the_open_files_limit_is_only_ever_raised() -> None:
    files = raise_open_files(16)
    assert files["soft"] == files["soft_before"] >= 16


def quantiles(ms: float) -> dict[str, float]:
    return {"p50_ms": ms, "p99_ms": 2 * ms, "max_ms": 3 * ms, "n": 10}


def test_the_table_puts_the_gateway_beside_its_baseline_and_both_stream_cases() -> None:
    stream_case: dict[str, Any] = {
        "streams": 10, "got_first_event": 10, "got_waiting": 10, "held": 10,
        "keepalives_min": 2, "first_event": quantiles(5), "next_event": quantiles(100),
        "lag_next": quantiles(50), "terminal_event": quantiles(1000), "completed": 10,
        "lag_terminal": quantiles(400), "broken": {"count": 0},
    }  # fmt: skip
    workload = {
        "tasks": 10, "rate_per_s": 10.0, "streams": 10, "hold_s": 30.0, "load_1m": [1.0, 2.0],
        "open_files": {"soft": 4096, "soft_before": 1024, "hard": 4096},
        "first_event": {
            "gateway": {"accepted": quantiles(20), "first_event": quantiles(40),
                        "first_step": quantiles(150), "completed": quantiles(900),
                        "done": 10, "total": 10},
            "baseline": {"accepted": quantiles(5), "first_step": quantiles(50),
                         "completed": quantiles(60), "done": 9, "total": 10,
                         "errors": ["run x: no output"]},
            "cold": {"accepted": 0.5, "first_event": 0.6},
        },
        "held": {
            "submit": {"tasks_per_s": 50.0, "accepted": quantiles(300)},
            "distinct": stream_case, "shared": stream_case,
            "rss_mib": {"idle": 90, "submitted": 92, "open": 120, "held": 121, "flowed": 130,
                        "after": 131},
            "cpu_percent": {"idle": 1.0, "holding": 3.0, "client_holding": 2.0,
                            "events_flowing": 80.0, "shared_flowing": 90.0},
        },
    }  # fmt: skip
    table = "\n".join(_gateway(workload))
    assert "| 202 / publish acknowledged | 20 | 40 | 5.0 | 10 | +15.0 ms |" in table
    assert "| first SSE event (`submitted`) | 40 | 80 | — | — | — |" in table
    assert "| `completed` event / output and ended journal seen | 900 | 1,800 | 60 | 120 |" in table
    assert "run x: no output" in table and "9/10 runs done" in table
    assert "| signal to terminal event p50 / p99 / all ms | 1,000 / 2,000 / 3,000 |" in table
    assert "| open after the hold (keep-alives each, at least) | 10 (2) | |" in table
    assert "| terminal event less the ended journal p50 / p99 ms | 400 / 800 | 400 / 800 |" in table
    assert "soft limit 4,096 (was 1,024" in table and "1.0 / 2.0." in table
