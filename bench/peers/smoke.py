"""Smoke-test the peer runners against the live dev stack.

Run from the repo root with a python that has confluent-kafka (the hivebus venv):

    .venv/bin/python -m bench.peers.smoke                       # every system, both workloads
    .venv/bin/python -m bench.peers.smoke faust quix --workload slow --jobs 200 --delay-ms 50

For each system and workload: create a fresh 3-partition source topic and an output topic,
preload Payments (passthrough) or Jobs (slow) in Confluent wire-format Avro, run the runner as
the driver will (`bench/.venvs/<env>/bin/python -m bench.peers.<module> <workload> '<json>'`),
then read the output topic back and check the count, the keys, and for `slow` that every job
id came back once with this system's name. With `--live`, the runner is started first on the
empty topic, the records are published, and once their outputs are read back the runner is
stopped with SIGTERM, as the driver's sessions do; it must exit within 15 s with its result.
Prints one line per run and exits non-zero if any run failed. The topics are deleted afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import SchemaRegistryClient, topic_subject_name_strategy
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from bench.peers.venvs import SYSTEMS, ensure

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "bench" / "schemas"
BOOTSTRAP = os.environ.get("HIVEBUS_BOOTSTRAP", "127.0.0.1:19092")
REGISTRY = os.environ.get("HIVEBUS_REGISTRY_URL", "http://127.0.0.1:18081/apis/ccompat/v7")


def payment(i: int, keys: int) -> tuple[str, dict[str, Any]]:
    account = f"acct-{i % keys:05d}"
    return account, {
        "id": f"pay-{i:08d}", "account": account, "amount": 10.0 + (i % 997),
        "currency": "EUR", "channel": "card" if i % 3 else "wire", "country": "FR",
        "merchant": "bookshop", "seq": i // keys,
    }  # fmt: skip


def job(i: int, keys: int, delay_ms: int) -> tuple[str, dict[str, Any]]:
    key = f"key-{i % keys:05d}"
    return key, {
        "id": f"job-{i:08d}", "key": key, "seq": i // keys, "delay_ms": delay_ms,
        "sent_at_us": time.time_ns() // 1000,
    }  # fmt: skip


def create_topics(admin: AdminClient, names: list[str], partitions: int) -> None:
    futures = admin.create_topics([NewTopic(n, partitions, 1) for n in names])
    for future in futures.values():
        future.result(30)


def preload(registry: SchemaRegistryClient, topic: str, schema: str,
            records: list[tuple[str, dict[str, Any]]]) -> None:  # fmt: skip
    serialize = AvroSerializer(
        registry, (SCHEMAS / f"{schema}.avsc").read_text(),
        conf={"auto.register.schemas": True, "subject.name.strategy": topic_subject_name_strategy},
    )  # fmt: skip
    ctx = SerializationContext(topic, MessageField.VALUE)
    producer = Producer({"bootstrap.servers": BOOTSTRAP, "linger.ms": 20})
    for key, value in records:
        producer.produce(topic, serialize(value, ctx), key=key.encode())
        producer.poll(0)
    if producer.flush(30):
        raise RuntimeError("preload: undelivered records")


def read_back(registry: SchemaRegistryClient, topic: str, expected: int,
              timeout_s: float = 20.0) -> list[tuple[bytes | None, dict[str, Any]]]:  # fmt: skip
    deserialize = AvroDeserializer(registry)
    ctx = SerializationContext(topic, MessageField.VALUE)
    consumer = Consumer({
        "bootstrap.servers": BOOTSTRAP, "group.id": f"smoke-read-{uuid.uuid4().hex[:8]}",
        "auto.offset.reset": "earliest", "enable.auto.commit": False,
    })  # fmt: skip
    consumer.subscribe([topic])
    out: list[tuple[bytes | None, dict[str, Any]]] = []
    deadline = time.monotonic() + timeout_s
    idle_until = None
    while time.monotonic() < deadline:
        messages = consumer.consume(500, 0.5)
        for message in messages:
            if message.error():
                continue
            out.append((message.key(), deserialize(message.value(), ctx)))
        if len(out) >= expected:
            # linger briefly to catch duplicates beyond the expected count
            idle_until = idle_until or time.monotonic() + 1.0
            if time.monotonic() > idle_until:
                break
    consumer.close()
    return out


def check(workload: str, system: str, records: list[tuple[str, dict[str, Any]]],
          outputs: list[tuple[bytes | None, dict[str, Any]]]) -> list[str]:  # fmt: skip
    problems: list[str] = []
    if len(outputs) < len(records):
        problems.append(f"{len(outputs)} outputs for {len(records)} inputs")
    inputs = {value["id"]: (key, value) for key, value in records}
    seen: dict[str, int] = defaultdict(int)
    for key, value in outputs:
        seen[value["id"]] += 1
        source = inputs.get(value["id"])
        if source is None:
            problems.append(f"unknown id {value['id']}")
            continue
        if key != source[0].encode():
            problems.append(f"{value['id']}: key {key!r}, input key {source[0]!r}")
        if workload == "passthrough" and value != source[1]:
            problems.append(f"{value['id']}: changed: {value} != {source[1]}")
        if workload == "slow":
            if value["system"] != system:
                problems.append(f"{value['id']}: system {value['system']!r}")
            for field in ("key", "seq", "sent_at_us"):
                if value[field] != source[1][field]:
                    problems.append(f"{value['id']}: {field} {value[field]!r}")
            if value["started_at_us"] < source[1]["sent_at_us"]:
                problems.append(f"{value['id']}: started before it was sent")
    missing = [i for i in inputs if i not in seen]
    if missing:
        problems.append(f"{len(missing)} ids missing, e.g. {missing[:3]}")
    duplicates = sum(n - 1 for n in seen.values() if n > 1)
    if duplicates:
        problems.append(f"{duplicates} duplicate outputs")
    return problems[:10]


def order_violations(outputs: list[tuple[bytes | None, dict[str, Any]]]) -> tuple[int, int]:
    """Per key, jobs that started before an earlier seq, and results written to the output
    topic after a later seq (slow workload; informational)."""
    starts: dict[str, list[tuple[int, int]]] = defaultdict(list)
    written: dict[str, list[int]] = defaultdict(list)
    for _, value in outputs:  # in offset order within each partition, so within each key
        starts[value["key"]].append((value["started_at_us"], value["seq"]))
        written[value["key"]].append(value["seq"])

    def count(seqs: list[int]) -> int:
        return sum(1 for a, b in itertools.pairwise(seqs) if b < a)

    return (
        sum(count([seq for _, seq in sorted(pairs)]) for pairs in starts.values()),
        sum(count(seqs) for seqs in written.values()),
    )


def run_one(system: str, workload: str, args: argparse.Namespace,
            admin: AdminClient, registry: SchemaRegistryClient) -> bool:  # fmt: skip
    tag = f"{system}-{workload}-{uuid.uuid4().hex[:8]}"
    source, output = f"smoke.peers.{tag}.in", f"smoke.peers.{tag}.out"
    if workload == "passthrough":
        records = [payment(i, args.keys) for i in range(args.payments)]
        schema = "Payment"
    else:
        records = [job(i, args.keys, args.delay_ms) for i in range(args.jobs)]
        schema = "Job"
    create_topics(admin, [source, output], args.partitions)
    try:
        env, module = SYSTEMS[system]
        config = {
            "system": system, "bootstrap": BOOTSTRAP, "registry_url": REGISTRY,
            "source": source, "output": output, "group": f"smoke-peers-{tag}",
            "count": len(records) + (1000 if args.live else 0),
            "concurrency": args.concurrency, "timeout_s": args.timeout,
        }  # fmt: skip
        command = [str(ensure(env)), "-m", f"bench.peers.{module}", workload, json.dumps(config)]
        environ = {**os.environ, "BENCH_PEERS_LOGLEVEL": args.loglevel}
        outputs: list[tuple[bytes | None, dict[str, Any]]] = []
        if args.live:
            # as the driver's sessions do: start the runner on an empty topic, publish, wait
            # for the outputs, then SIGTERM it; it must still exit cleanly with its result
            proc = subprocess.Popen(
                command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                env=environ,
            )  # fmt: skip
            started = time.monotonic()
            preload(registry, source, schema, records)
            outputs = read_back(registry, output, len(records), timeout_s=args.timeout)
            proc.terminate()
            try:
                stdout, stderr = proc.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                stdout, stderr = proc.communicate()
                stderr += "\n(smoke: did not exit within 15 s of SIGTERM: killed)"
            done = subprocess.CompletedProcess(command, proc.returncode, stdout, stderr)
        else:
            preload(registry, source, schema, records)
            started = time.monotonic()
            done = subprocess.run(
                command, cwd=ROOT, capture_output=True, text=True, timeout=args.timeout + 60,
                env=environ,
            )  # fmt: skip
        wall = time.monotonic() - started
        proc = done
        lines = proc.stdout.strip().splitlines()
        try:
            result = json.loads(lines[-1])
        except (IndexError, ValueError):
            result = {}
        problems: list[str] = []
        if proc.returncode != 0:
            problems.append(f"exit code {proc.returncode}")
        if len(lines) != 1:
            problems.append(f"{len(lines)} lines on stdout")
        if "unsupported" in result:
            print(f"{system:30} {workload:12} UNSUPPORTED: {result['unsupported']}")
            return proc.returncode == 0
        if args.live:
            if result.get("events", 0) < len(records) or result.get("finished") is not False:
                problems.append(f"after SIGTERM: {result}")
        else:
            if not result.get("finished"):
                problems.append(f"not finished: {result}")
            outputs = read_back(registry, output, len(records))
        problems += check(workload, system, records, outputs)
        rate = result.get("events", 0) / result["seconds"] if result.get("seconds") else 0.0
        extra = ""
        if workload == "slow":
            started, written = order_violations(outputs)
            extra = f" order-violations: started={started} written={written}"
        status = "ok" if not problems else "FAILED"
        print(
            f"{system:30} {workload:12} {status:6} events={result.get('events')} "
            f"seconds={result.get('seconds', 0):.3f} events/s={rate:,.0f} "
            f"cpu_s={result.get('cpu_seconds', 0):.3f} wall_s={wall:.1f}{extra}",
            flush=True,
        )
        for problem in problems:
            print(f"    {problem}")
        if args.verbose and lines:
            print("    stdout: " + lines[-1])
        if problems or args.verbose:
            tail = proc.stderr.strip().splitlines()[-args.stderr_lines :]
            print("    stderr tail:\n" + "\n".join(f"      {line}" for line in tail))
        return not problems
    finally:
        if not args.keep:
            for future in admin.delete_topics([source, output]).values():
                with contextlib.suppress(Exception):  # best-effort cleanup
                    future.result(30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("systems", nargs="*", help=f"some of: {', '.join(SYSTEMS)} (all)")
    parser.add_argument("--workload", choices=["passthrough", "slow", "both"], default="both")
    parser.add_argument("--payments", type=int, default=2000)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--delay-ms", type=int, default=50)
    parser.add_argument("--keys", type=int, default=100)
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--stderr-lines", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="keep the topics")
    parser.add_argument(
        "--live", action="store_true",
        help="start the runner first, publish, then stop it with SIGTERM (as the driver does)",
    )  # fmt: skip
    parser.add_argument("--loglevel", default="WARNING", help="the runners' log level")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    unknown = [s for s in args.systems if s not in SYSTEMS]
    if unknown:
        parser.error(f"unknown systems {unknown}; known: {', '.join(SYSTEMS)}")
    workloads = ["passthrough", "slow"] if args.workload == "both" else [args.workload]
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    registry = SchemaRegistryClient({"url": REGISTRY})
    ok = True
    for system in args.systems or list(SYSTEMS):
        for workload in workloads:
            ok &= run_one(system, workload, args, admin, registry)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
