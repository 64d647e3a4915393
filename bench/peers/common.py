"""What every peer runner shares: the config, the schemas, the Avro codec, the clock, the result.

Imports only the standard library and (for the Avro codec) confluent-kafka, never
hivebus. A runner is invoked as
`bench/.venvs/<env>/bin/python -m bench.peers.<module> <workload> '<config json>'` and prints one
JSON line as the last line of stdout; everything else goes to stderr.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
WORKLOADS = ("passthrough", "slow")
# (input schema, output schema) for each workload
SCHEMA_NAMES = {"passthrough": ("Payment", "Payment"), "slow": ("Job", "JobResult")}

# The real stdout, kept before any framework can redirect sys.stdout into its logger.
_RESULT_OUT = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")

log = logging.getLogger("bench.peers")
# The runners' log level (stderr), for this module's logger and the frameworks' own.
LOGLEVEL = os.environ.get("BENCH_PEERS_LOGLEVEL", "WARNING").upper()


@dataclass(frozen=True)
class Config:
    system: str
    bootstrap: str
    registry_url: str
    source: str
    output: str
    group: str
    count: int
    concurrency: int = 256
    timeout_s: float = 120.0

    @classmethod
    def parse(cls, text: str) -> Config:
        raw = json.loads(text)
        return cls(
            system=str(raw["system"]), bootstrap=str(raw["bootstrap"]),
            registry_url=str(raw["registry_url"]), source=str(raw["source"]),
            output=str(raw["output"]), group=str(raw["group"]), count=int(raw["count"]),
            concurrency=int(raw.get("concurrency") or 256),
            timeout_s=float(raw.get("timeout_s") or 120.0),
        )  # fmt: skip


def schema_str(name: str) -> str:
    return (SCHEMAS / f"{name}.avsc").read_text()


def parse_args(argv: list[str], systems: tuple[str, ...]) -> tuple[str, Config]:
    """`<workload> '<config json>'` -> (workload, config); sends logs and stray prints to
    stderr, so that the result is the only line on stdout."""
    sys.stdout = sys.stderr
    logging.basicConfig(
        stream=sys.stderr, level=LOGLEVEL,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )  # fmt: skip
    if len(argv) != 2:
        raise SystemExit("usage: python -m bench.peers.<module> <workload> '<config json>'")
    workload, config = argv[0], Config.parse(argv[1])
    if workload not in WORKLOADS:
        unsupported(config.system, workload, f"the peer runners do only {', '.join(WORKLOADS)}")
        raise SystemExit(0)
    if config.system not in systems:
        raise SystemExit(f"this module runs {', '.join(systems)}, not {config.system!r}")
    return workload, config


class Avro:
    """Confluent wire-format Avro through the registry, with confluent-kafka's own serdes.

    `decode` reads any registered schema (the writer's id is in the record); `encode` writes
    the workload's output schema under the topic's subject (`topic_subject_name_strategy`,
    set explicitly), registering it on first use.
    """

    def __init__(self, registry_url: str, output_schema: str) -> None:
        from confluent_kafka.schema_registry import (
            SchemaRegistryClient,
            topic_subject_name_strategy,
        )
        from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
        from confluent_kafka.serialization import MessageField, SerializationContext

        registry = SchemaRegistryClient({"url": registry_url})
        self._deserialize = AvroDeserializer(registry)
        self._serialize = AvroSerializer(
            registry, schema_str(output_schema),
            conf={"auto.register.schemas": True,
                  "subject.name.strategy": topic_subject_name_strategy},
        )  # fmt: skip
        self._new_context, self._value_field = SerializationContext, MessageField.VALUE
        self._contexts: dict[str, Any] = {}

    def _ctx(self, topic: str) -> Any:
        ctx = self._contexts.get(topic)
        if ctx is None:
            ctx = self._contexts[topic] = self._new_context(topic, self._value_field)
        return ctx

    def decode(self, data: bytes, topic: str) -> dict[str, Any]:
        value = self._deserialize(data, self._ctx(topic))
        assert isinstance(value, dict)
        return value

    def encode(self, value: dict[str, Any], topic: str) -> bytes:
        data = self._serialize(value, self._ctx(topic))
        assert isinstance(data, bytes)
        return data


def now_us() -> int:
    return time.time_ns() // 1000


def job_result(job: dict[str, Any], started_at_us: int, system: str) -> dict[str, Any]:
    """The `bench.JobResult` for a `bench.Job` whose handler began at `started_at_us`."""
    return {
        "id": job["id"], "key": job["key"], "seq": job["seq"], "sent_at_us": job["sent_at_us"],
        "started_at_us": started_at_us, "system": system,
    }  # fmt: skip


class Stats:
    """The measured window: first record consumed -> last output acknowledged by the broker.

    Called from one thread at a time (the framework's event loop or poll loop).
    """

    def __init__(self, system: str, workload: str, count: int) -> None:
        self.system, self.workload, self.count = system, workload, count
        self.events = 0
        self._started = self._cpu_started = 0.0
        self._last = self._cpu_last = 0.0

    @property
    def started(self) -> bool:
        return self._started > 0.0

    def consumed(self) -> None:
        """Call on every record consumed; the first one starts the clock."""
        if not self._started:
            self._started, self._cpu_started = time.perf_counter(), time.process_time()

    def acked(self, n: int = 1, at: tuple[float, float] | None = None) -> bool:
        """Call when the broker acknowledges `n` outputs (`at`: when, as (perf_counter,
        process_time), if not now); True once `count` are acknowledged."""
        self.events += n
        self._last, self._cpu_last = at or (time.perf_counter(), time.process_time())
        return self.done

    @property
    def done(self) -> bool:
        return self.events >= self.count

    def result(self) -> dict[str, Any]:
        seconds = max(self._last - self._started, 0.0) if self.events else 0.0
        cpu = max(self._cpu_last - self._cpu_started, 0.0) if self.events else 0.0
        return {
            "system": self.system, "workload": self.workload, "events": self.events,
            "seconds": round(seconds, 6), "cpu_seconds": round(cpu, 6),
            "finished": self.events >= self.count,
        }  # fmt: skip


def emit(result: dict[str, Any]) -> None:
    """Print the result as the last line of the real stdout."""
    _RESULT_OUT.write(json.dumps(result) + "\n")
    _RESULT_OUT.flush()


def unsupported(system: str, workload: str, reason: str) -> None:
    emit({"system": system, "workload": workload, "unsupported": reason})


@dataclass(frozen=True)
class DurableConfig:
    """What a durable-workload runner is asked for (see bench/durable.py)."""

    system: str
    runs: int
    rounds: int
    timeout_s: float
    steps: int


def _runner_config(
    argv: list[str], workload: str, module: str, systems: tuple[str, ...]
) -> dict[str, Any]:
    """The config JSON of `<workload> '<config json>'`, its system checked; logs to stderr
    (stdout carries only the result line)."""
    sys.stdout = sys.stderr
    logging.basicConfig(stream=sys.stderr, level=LOGLEVEL)
    if len(argv) != 2 or argv[0] != workload:
        raise SystemExit(f"usage: python -m bench.peers.{module} {workload} '<config json>'")
    config: dict[str, Any] = json.loads(argv[1])
    if str(config["system"]) not in systems:
        raise SystemExit(f"this module runs {', '.join(systems)}, not {config['system']!r}")
    return config


def durable_config(argv: list[str], module: str, systems: tuple[str, ...]) -> DurableConfig:
    """Parse `durable '<config json>'` for a durable-workload runner; logs to stderr."""
    config = _runner_config(argv, "durable", module, systems)
    system = str(config["system"])
    return DurableConfig(
        system=system, runs=int(config.get("runs", 100)), rounds=int(config.get("rounds", 1)),
        timeout_s=float(config.get("timeout_s", 300)), steps=int(config.get("steps", 14)),
    )  # fmt: skip


def emit_durable(config: DurableConfig, samples: list[tuple[list[float], float]]) -> None:
    """Print a durable runner's result: every step time (ms) and each round's runs/s."""
    emit({
        "system": config.system, "workload": "durable", "runs": config.runs,
        "rounds": config.rounds,
        "step_ms": [round(1000 * t, 4) for steps, _ in samples for t in steps],
        "runs_per_s": [rate for _, rate in samples],
    })  # fmt: skip


@dataclass(frozen=True)
class FanoutConfig:
    """What a fan-out runner is asked for (see bench/patterns.py): a warm-up request, then
    `rate_per_s` requests a second for `seconds`, then `burst` requests at once."""

    system: str
    bootstrap: str
    rate_per_s: float
    seconds: float
    burst: int
    fanout: int
    concurrency: int
    timeout_s: float


def fanout_config(argv: list[str], module: str, systems: tuple[str, ...]) -> FanoutConfig:
    """Parse `fanout '<config json>'` for a fan-out runner; logs to stderr."""
    raw = _runner_config(argv, "fanout", module, systems)
    system = str(raw["system"])
    return FanoutConfig(
        system=system, bootstrap=str(raw.get("bootstrap") or ""),
        rate_per_s=float(raw.get("rate_per_s", 20)), seconds=float(raw.get("seconds", 15)),
        burst=int(raw.get("burst", 500)), fanout=int(raw.get("fanout", 3)),
        concurrency=int(raw.get("concurrency", 256)), timeout_s=float(raw.get("timeout_s", 120)),
    )  # fmt: skip


Request = Callable[[int], Awaitable[object]]


async def drive_fanout(request: Request, config: FanoutConfig) -> dict[str, Any]:
    """The fan-out workload's two phases over `request(i)` (send request i, return once its
    output is back): the latency of each of `rate_per_s` x `seconds` requests sent on a fixed
    schedule, then how long `burst` requests sent at once take until every output is back.
    Request -1 is a warm-up, not counted. Each phase waits at most `timeout_s` (the paced one
    after its last send); what had not come back by then is reported as not done. Shared by
    hivebus and the peers, so all are timed by the same code."""
    await asyncio.wait_for(request(-1), timeout=max(60.0, config.timeout_s))
    latencies: list[float] = []

    async def timed(i: int) -> None:
        started = time.perf_counter()
        await request(i)
        latencies.append(time.perf_counter() - started)

    total = int(config.rate_per_s * config.seconds)
    begun = time.perf_counter()
    paced: list[asyncio.Task[None]] = []
    for i in range(total):
        delay = begun + i / config.rate_per_s - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        paced.append(asyncio.create_task(timed(i)))
    await asyncio.wait(paced, timeout=config.timeout_s)
    started = time.perf_counter()
    burst = [asyncio.create_task(request(total + j)) for j in range(config.burst)]
    done, pending = await asyncio.wait(burst, timeout=config.timeout_s)
    seconds = time.perf_counter() - started
    for task in [*paced, *pending]:
        task.cancel()
    errors = [str(t.exception()) for t in done if t.exception() is not None]
    finished = len(done) - len(errors)
    return {
        "system": config.system, "workload": "fanout", "rate_per_s": config.rate_per_s,
        "paced": total, "paced_done": len(latencies),
        "latency_ms": [round(1000 * t, 3) for t in latencies],
        "burst": config.burst, "burst_done": finished, "burst_seconds": round(seconds, 4),
        "burst_finished": finished == config.burst and not pending,
        "errors": errors[:3],
    }  # fmt: skip
