"""The Avro binary of a decision, written without fastavro: one per handled event.

A decision is the one audit record every audited event costs, so it is assembled from bytes
directly, its constant parts encoded once, in the field order of `schemas/AuditEvent.avsc`:
several microseconds less per event than building the model and calling fastavro. Steps and
LLM calls are rarer and slower anyway, and go through the ordinary `Encoder`. The unit tests
read these bytes back with fastavro against the .avsc, so the two cannot drift apart.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

DOUBLE = struct.Struct("<d").pack
NULL = b"\x00"  # union branch 0 (null), an empty array, or an array's end
SOME = b"\x02"  # union branch 1
# The fields after the outputs when a decision has no error: step, llm and error all null.
NO_SIDES = b"\x00\x00\x00"


def _varint(n: int) -> bytes:
    z = (n << 1) ^ (n >> 63)  # zigzag
    if z < 0x4000:
        return bytes((z,)) if z < 0x80 else bytes((z & 0x7F | 0x80, z >> 7))
    if z < 0x10000000:  # offsets: unrolled, they are in every decision
        if z < 0x200000:
            return bytes((z & 0x7F | 0x80, (z >> 7) & 0x7F | 0x80, z >> 14))
        return bytes((z & 0x7F | 0x80, (z >> 7) & 0x7F | 0x80, (z >> 14) & 0x7F | 0x80, z >> 21))
    out = bytearray()
    while z >= 0x80:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


_SMALL = [_varint(n) for n in range(4096)]


def long(n: int) -> bytes:
    """An Avro int or long: zigzag, then base-128 varint."""
    return _SMALL[n] if 0 <= n < 4096 else _varint(n)


def string(data: bytes) -> bytes:
    return (_SMALL[len(data)] if len(data) < 4096 else _varint(len(data))) + data


def optional(data: bytes | None) -> bytes:
    """A `["null", "string"]` union."""
    return NULL if data is None else SOME + string(data)


KIND = string(b"decision")
OK = string(b"ok")

# An output: (`string(topic)`, ce_id, `string(type)`, payload JSON or None)
Output = tuple[bytes, bytes, bytes, bytes | None]
# An error: (type, message, dead-letter topic or None)
Error = tuple[bytes, bytes, bytes | None]


def plain(
    decision_prefix: bytes, cause: bytes, agent: bytes, correlation_id: bytes,
    run_id: bytes | None, at_ms: bytes, duration_ms: float, attempt: int, topic: bytes,
    partition: int, offset: int, causation_id: bytes | None, type: bytes,
    outputs: Sequence[tuple[bytes, bytes, bytes]],
) -> bytes:  # fmt: skip
    """`decision` of the commonest case, as one expression: outcome "ok", seq 0, the input's
    ce_id the cause, no payloads and no error (each output: topic, ce_id, type, encoded
    as `decision` takes them)."""
    small = _SMALL
    decision_id = decision_prefix + cause
    head = b"".join((
        KIND, small[len(decision_id)], decision_id, NULL, agent, small[len(correlation_id)],
        correlation_id, NULL if run_id is None else SOME + string(run_id), at_ms,
        DOUBLE(duration_ms), OK, small[attempt] if attempt < 4096 else _varint(attempt), SOME,
        topic, small[partition] if partition < 4096 else _varint(partition),
        small[offset] if offset < 4096 else _varint(offset), small[len(cause)], cause,
        NULL if causation_id is None else SOME + string(causation_id), type, NULL,
    ))  # fmt: skip
    if not outputs:
        return head + NULL + NO_SIDES
    body = [head, small[len(outputs)]]
    for out_topic, out_id, out_type in outputs:
        body += (out_topic, small[len(out_id)], out_id, out_type, NULL)
    body.append(NULL + NO_SIDES)
    return b"".join(body)


def decision(
    decision_id: bytes, seq: int, agent: bytes, correlation_id: bytes, run_id: bytes | None,
    at_ms: bytes, duration_ms: float, outcome: bytes, attempt: int, topic: bytes,
    partition: int, offset: int, event_id: bytes, causation_id: bytes | None, type: bytes,
    payload: bytes | None, outputs: Sequence[Output], error: Error | None,
) -> bytes:  # fmt: skip
    """The body (no wire header) of an `AuditEvent` of kind "decision". Already encoded:
    `agent` (`string(agent) + string(version)`), `at_ms` (`long`), and `outcome`, `topic`
    and `type` (`string`): they repeat from event to event, and are encoded once."""
    parts = [
        KIND, string(decision_id), long(seq), agent, string(correlation_id),
        NULL if run_id is None else SOME + string(run_id), at_ms, DOUBLE(duration_ms),
        outcome, long(attempt), SOME, topic, long(partition), long(offset), string(event_id),
        NULL if causation_id is None else SOME + string(causation_id), type,
        NULL if payload is None else SOME + string(payload),
    ]  # fmt: skip
    if outputs:
        parts.append(long(len(outputs)))
        for out_topic, out_id, out_type, out_payload in outputs:
            parts += (out_topic, string(out_id), out_type)
            parts.append(NULL if out_payload is None else SOME + string(out_payload))
    parts.append(NULL)  # the end of the outputs
    if error is None:
        parts.append(NO_SIDES)
    else:
        kind, message, dead_letters = error
        parts += (NULL, NULL, SOME, string(kind), string(message), optional(dead_letters))
    return b"".join(parts)
