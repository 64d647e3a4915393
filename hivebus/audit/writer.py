"""Turning one finished handling into audit events, handed to the agent's outbox.

A handling's events are its steps and LLM calls, then its decision, in that order, placed by
their key (the correlation id, or the run id for a durable run) so one partition holds a
causal tree in order; the blobs they name go first, to the blob topic. Everything goes
through the outbox like outputs: in at-least-once mode the record's offset commits only once
its audit is acknowledged (batched with other handlings', see batches.py), in exactly-once
mode its audit is one record in its transaction. So an audit event exists if and only if
what it describes does.

Most handlings are plain: no step, no LLM call, not dead-lettered, payloads kept by
reference. In at-least-once mode their decisions are written in columns (plain.py); in
exactly-once mode each is one `AuditEvent`, encoded by `_plain` from bytes encoded once per
agent, topic and type.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from dataclasses import dataclass
from io import BytesIO
from typing import TYPE_CHECKING

import fastavro
from confluent_kafka import Consumer

from hivebus.audit import wire
from hivebus.audit.batches import Batches, batch_value
from hivebus.audit.blobs import JSON, is_ref
from hivebus.audit.dead_letters import MAX_ERROR, UNSEEN, dead_letter_decision
from hivebus.audit.events import Blobs, Identity, side_events
from hivebus.audit.plain import CAUSATION, causation_of
from hivebus.audit.prices import Prices
from hivebus.audit.records import DEAD, AuditBatch, AuditBlob, AuditEvent
from hivebus.audit.redact import mask_of, record_secrets, redact, scrub, sensitive_values, to_json
from hivebus.audit.sampling import kept
from hivebus.audit.settings import AuditSettings
from hivebus.audit.trail import Published, Trail
from hivebus.contracts import Encoder, HeaderBuilder, Serde
from hivebus.contracts.errors import RegistryUnavailable
from hivebus.contracts.wire import frame_header
from hivebus.durable.topics import journal_topic
from hivebus.kafka.connection import connection_settings

if TYPE_CHECKING:
    from hivebus.runtime.agent import Agent
    from hivebus.runtime.deadletter import Failure
    from hivebus.runtime.job import Job
    from hivebus.runtime.outbox import Outbox

REGISTRY_BACKOFF_S = (0.2, 0.5, 1.0, 2.0, 5.0)
JOURNALS = journal_topic("")  # a durable run's own journal write is not one of its outputs
MAX_PAYLOAD = 16 * 1024  # a payload longer than this goes to a blob
BATCH_TYPE = AuditBatch.fullname
# The schema of one event inside a batch, for events not written by `wire`.
_EVENT = fastavro.parse_schema(AuditBatch.contract().schema["fields"][0]["type"]["items"])
log = logging.getLogger("hivebus.audit")


@dataclass(frozen=True)
class Options:
    sample: float
    payloads: bool  # keep inputs and outputs as (redacted) JSON, not only by reference
    content: bool  # keep LLM prompts and replies (by reference)
    prices: Prices
    settings: AuditSettings


@dataclass(frozen=True, slots=True)
class _Agent:
    """What every decision of one agent (one version) repeats, encoded once."""

    prefix: bytes  # of a decision id: b"<agent>/"
    encoded: bytes  # `string(agent) + string(version)`
    headers: HeaderBuilder


class Writer:
    """Writes the audit of the handlings of one agent in one worker, through its outbox."""

    def __init__(self, outbox: Outbox, serde: Serde, options: Options) -> None:
        self.outbox = outbox
        self.serde = serde
        self.options = options
        self.sample = options.sample
        self.topic = options.settings.topic
        self._events: Encoder | None = None
        self._blobs: Encoder | None = None
        self._frame = b""
        self._agents: dict[tuple[str, str], _Agent] = {}
        self._strings: dict[str, bytes] = {}  # topic, type and outcome names, Avro-encoded
        self._at: tuple[int, bytes] = (-1, b"")  # the last millisecond, Avro-encoded
        self._payloads = options.payloads
        self._headers = HeaderBuilder(f"hivebus://agents/{outbox.agent}")
        self._batches: Batches | None = None  # at-least-once, once prepared
        self.ready = False  # prepared: `write` may be called
        # Where a plain handling's decision goes, when it goes in columns (at-least-once,
        # payloads by reference): `Audit` hands such decisions straight to it.
        self.plain: Batches | None = None
        # The columns when every handling is audited and plain ones go in columns: then
        # `Audit` writes a plain sync handling's decision itself, the shortest way.
        self.fast: Batches | None = None
        # A plain sync handling's trail, once its decision is in columns and nothing else
        # holds it: the next one's, so the commonest handling allocates none (`Audit`).
        self.spare: Trail | None = None
        self._preparing: asyncio.Future[None] | None = None
        self._last: tuple[object, _Agent, bool] = (None, _Agent(b"", b"", self._headers), False)

    async def prepare(self) -> None:
        """Made ready once, however many handlings ask at the same time."""
        if self._preparing is None or (self._preparing.done() and not self.ready):
            self._preparing = asyncio.ensure_future(self._prepare())
        await asyncio.shield(self._preparing)

    async def _prepare(self) -> None:
        """Settle both schemas with the registry (waiting out an outage, as outputs do), and
        in at-least-once mode learn the audit topic's partitions, for the batches."""
        settings = self.options.settings
        self._blobs = await self._encoder(settings.blob_topic, AuditBlob)
        events = await self._encoder(settings.topic, AuditBatch)
        self._frame = frame_header(events.schema_id)
        if getattr(self.outbox, "shared_records", False):
            partitions = await asyncio.to_thread(_partitions, settings.topic)
            headers = HeaderBuilder(f"hivebus://agents/{self.outbox.agent}")
            self._batches = Batches(
                self.outbox, self.topic, partitions, self._frame, headers, self._agent_bytes
            )
            self.plain = None if self._payloads else self._batches
        self._events = events
        self.ready = True
        self.fast = self.plain if self.sample >= 1.0 else None

    async def _encoder(self, topic: str, model: type[AuditBatch] | type[AuditBlob]) -> Encoder:
        for attempt in range(1_000_000):
            try:
                return await self.serde.encoder_async(topic, model)
            except RegistryUnavailable as error:
                log.warning("cannot register %s yet (%s); retrying", model.fullname, error)
                await asyncio.sleep(REGISTRY_BACKOFF_S[min(attempt, len(REGISTRY_BACKOFF_S) - 1)])
        raise AssertionError("unreachable")

    async def write_async(self, trail: Trail) -> None:
        if not self.ready:
            await self.prepare()
        run_input = await self._run_input(trail) if trail.journal is not None else None
        self.write(trail, run_input)

    def write(self, trail: Trail, run_input: tuple[str | None, set[str]] | None = None) -> None:
        """Hand the handling's audit to the outbox (`Fenced` if the job lost its partition).
        Needs `ready`; a durable run's needs `run_input` (`write_async`)."""
        job = trail.call.job
        if trail.journal is None and not trail.seen and not job.dead and not self._payloads:
            batches = self.plain
            if batches is not None:  # one row of columns (`Audit` does this itself too)
                trail.ended = time.perf_counter()
                batches.add_plain(trail, trail.call, job)
            else:
                cause, correlation, run = trail.lineage
                self._send(job, correlation, [self._plain(trail)], cause, correlation, run)
        else:
            self._full(trail, run_input)

    def write_dead_letter(self, job: Job, failure: Failure) -> None:
        """The decision about a record dead-lettered where no handling's audit saw it (an
        outbox dead-letter listener; dead_letters.py): undecodable, an output refused after
        the handling, a runtime fault. A handler's own failure is in its handling's audit."""
        if failure.kind not in UNSEEN or not self.ready:
            return
        cause, correlation, run = job.raw_lineage()
        if not kept(correlation, self.sample):
            return
        body = dead_letter_decision(self.outbox.agent, self.outbox.version, job, failure)
        self._send(job, correlation, [body], cause, correlation, run)

    def _send(
        self, job: Job, key: bytes, bodies: list[bytes], cause: bytes, correlation: bytes,
        run: bytes | None,
    ) -> None:  # fmt: skip
        """One handling's events (their Avro bodies, in order): batched with others', or
        one record of their own (exactly-once: in the job's transaction)."""
        if self._batches is not None:
            self._batches.add(job, key, bodies)
            return
        headers = self._headers.caused(BATCH_TYPE, cause, correlation, run)
        self.outbox.emit_encoded(job, self.topic, batch_value(self._frame, bodies), key, headers)

    def _plain(self, trail: Trail) -> bytes:
        """The decision of a handling that did nothing but publish (or not)."""
        call = trail.call
        job, agent = call.job, call.agent
        cause, correlation, run = trail.lineage
        last = self._last
        if agent is last[0]:  # one agent per writer, but for a durable run's name
            found, exactly_once = last[1], last[2]
        else:
            found = self._agents.get((agent.name, agent.version)) or self._agent(agent)
            exactly_once = agent.exactly_once
            self._last = (agent, found, exactly_once)
        message = job.message
        outputs = trail.outputs
        if exactly_once and outputs:  # a failed attempt's outputs were discarded with it
            outputs = [out for out in outputs if out[3] == call.attempt]
        strings, string = self._strings, self._string
        started = trail.started_ms  # (read once: it reads two clocks)
        at = self._at if self._at[0] == started else self._at_ms(started)
        topic, fullname = message.topic(), call.event.fullname
        if len(outputs) == 1:  # pass-through, the commonest: no list comprehension
            t, i, r, _ = outputs[0]
            refs = [(strings.get(t) or string(t), i, strings.get(r.fullname) or string(r.fullname))]
        else:
            refs = [(strings.get(t) or string(t), i, strings.get(r.fullname) or string(r.fullname))
                    for t, i, r, _ in outputs]  # fmt: skip
        headers = job.headers
        return wire.plain(
            found.prefix, cause, found.encoded, correlation, run, at[1],
            1000 * (time.perf_counter() - trail.clock), call.attempt,
            strings.get(topic) or string(topic), message.partition(), message.offset(),
            causation_of(headers), strings.get(fullname) or string(fullname),
            refs,
        )  # fmt: skip

    def _full(self, trail: Trail, run_input: tuple[str | None, set[str]] | None) -> None:
        call, job = trail.call, trail.call.job
        cause, correlation, run = trail.lineage
        journal = trail.journal
        options = self.options
        name, version = call.agent.name, call.agent.version
        payload: str | None = None
        secrets: set[str] = set()
        if journal is not None:  # a durable run: the event it started for is the input
            if run_input is None:
                raise RuntimeError("a durable run's audit is written by `write_async`")
            started = journal.input_headers
            name, run = journal.agent, journal.run_id.encode()
            correlation = started.get("ce_correlationid") or started.get("ce_id") or run
            if not kept(correlation, self.sample):  # a run is sampled by its own tree
                return
            event_id, causation = started.get("ce_id") or run, started.get(CAUSATION)
            type_name = (started.get("ce_type") or b"").decode(errors="replace")
            topic, partition, offset = journal.topic, journal.partition, journal.offset
            key = run
            payload, secrets = run_input
        else:
            message = job.message
            topic, partition, offset = message.topic(), message.partition(), message.offset()
            event_id, causation = cause, causation_of(job.headers)
            type_name, key = call.event.fullname, correlation
            record_secrets(call.event, secrets)
        outputs = self._outputs(trail)
        for out in outputs:
            record_secrets(out[2], secrets)
        if options.payloads and journal is None:  # (a run's came from its journal)
            payload = to_json(call.event, secrets)
        blobs = Blobs(options.settings.blob_bytes, {})
        string = self._string
        refs = [
            (string(topic_name), out_id, string(record.fullname),
             self._payload(to_json(record, secrets), blobs).encode() if options.payloads
             else None)
            for topic_name, out_id, record, _ in outputs
        ]  # fmt: skip
        found = self._agents.get((name, version)) or self._agent(call.agent, name)
        decision_id = found.prefix + cause
        side: list[AuditEvent] = []
        if trail.seen:
            who = Identity(
                decision_id.decode(errors="replace"), name, version,
                correlation.decode(errors="replace"), run.decode() if run else None,
            )  # fmt: skip
            side = side_events(who, trail.seen, secrets, blobs, options.prices,
                               options.settings.inline_bytes, options.content)  # fmt: skip
        error: wire.Error | None = None
        if job.dead and trail.dead_letter is not None:
            kind, text, dead_letters = trail.dead_letter
            error = (kind.encode(), scrub(text[:MAX_ERROR], secrets).encode(),
                     dead_letters.encode())  # fmt: skip
        outcome = DEAD if job.dead else journal.state if journal is not None else "ok"
        decision = wire.decision(
            decision_id, len(side), found.encoded, correlation, run,
            self._at_ms(trail.started_ms)[1], trail.took_ms(), string(outcome), call.attempt,
            string(topic), partition, offset, event_id, causation, string(type_name),
            self._payload(payload, blobs).encode() if payload is not None else None, refs, error,
        )  # fmt: skip
        if blobs.found:  # before the events that name them
            assert self._blobs is not None
            blob_topic = options.settings.blob_topic
            for made in blobs.found.values():
                headers = found.headers.caused(AuditBlob.fullname, event_id, correlation, run)
                self.outbox.emit_encoded(
                    job, blob_topic, self._blobs.encode(made), made.sha256, headers
                )
        bodies = [*map(encode_event, side), decision]
        self._send(job, key, bodies, event_id, correlation, run)

    def _outputs(self, trail: Trail) -> list[Published]:
        """What the handling published that counts: in exactly-once mode, neither a failed
        attempt's outputs nor a dead-lettered record's (discarded); never a run's journal."""
        call = trail.call
        exactly_once, dead = call.agent.exactly_once, call.job.dead
        return [
            out for out in trail.outputs
            if not out[0].startswith(JOURNALS)
            and not (exactly_once and (dead or out[3] != call.attempt))
        ]  # fmt: skip

    async def _run_input(self, trail: Trail) -> tuple[str | None, set[str]]:
        """A durable run's starting event as redacted JSON (when payloads are kept) and its
        sensitive values, from the journal's copy of it."""
        journal = trail.journal
        if journal is None or not journal.input_value:
            return None, set()
        writer = await self.serde.writer_async(journal.input_value)
        _, data = self.serde.decode_any(journal.input_value)
        mask = mask_of(json.loads(writer.schema_str))
        secrets = sensitive_values(data, mask)
        if not self.options.payloads:
            return None, secrets
        return to_json(redact(data, mask)), secrets

    def _agent_bytes(self, agent: Agent) -> bytes:
        """`string(name) + string(version)` of `agent`, encoded once."""
        return (self._agents.get((agent.name, agent.version)) or self._agent(agent)).encoded

    def _agent(self, agent: Agent, name: str | None = None) -> _Agent:
        name = name or agent.name
        made = _Agent(
            f"{name}/".encode(), wire.string(name.encode()) + wire.string(agent.version.encode()),
            HeaderBuilder(f"hivebus://agents/{name}"),
        )  # fmt: skip
        self._agents[(name, agent.version)] = made
        return made

    def _string(self, text: str) -> bytes:
        found = self._strings.get(text)
        if found is None:
            found = wire.string(text.encode())
            if len(self._strings) < 10_000:  # topic, type and outcome names: a few
                self._strings[text] = found
        return found

    def _at_ms(self, millis: int) -> tuple[int, bytes]:
        """`millis` Avro-encoded, as (millis, bytes): encoded once per millisecond."""
        at = self._at
        if at[0] != millis:
            at = self._at = (millis, wire.long(millis))
        return at

    def _payload(self, text: str, blobs: Blobs) -> str:
        """A payload inline, or as a blob reference when it is large."""
        if len(text) <= MAX_PAYLOAD or is_ref(text):
            return text
        return blobs.keep(text, JSON)


def encode_event(event: AuditEvent) -> bytes:
    """The Avro body of one event, as an item of an `AuditBatch`."""
    out = BytesIO()
    fastavro.schemaless_writer(out, _EVENT, event.to_avro())
    return out.getvalue()


def _partitions(topic: str, timeout_s: float = 30.0) -> int:
    """How many partitions the audit topic has (the worker created it before the agent).
    A topic just created may not have its leaders yet (LEADER_NOT_AVAILABLE): asked again
    until it does."""
    consumer = Consumer({
        **connection_settings("consumer"), "group.id": f"hivebus-audit-{uuid.uuid4().hex[:8]}"
    })  # fmt: skip
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            found = consumer.list_topics(topic, timeout=timeout_s).topics.get(topic)
            if found is not None and found.error is None and found.partitions:
                return len(found.partitions)
            if time.monotonic() > deadline:
                why = found.error if found is not None and found.error else "no partitions"
                raise RuntimeError(f"the audit topic {topic} is not usable: {why}")
            time.sleep(0.2)
    finally:
        consumer.close()
