"""Large step results, kept out of the journal: in Kafka too, on `hivebus.blobs.<agent>`.

A result larger than the inline limit (`HIVEBUS_DURABLE_INLINE_BYTES`, 32 KiB by default) is
written in chunks well under the broker's record limit, beside the run (the same partition
number as its journal), and the journal keeps only a reference: where the chunks are, their
size and a SHA-256. A replay reads the chunks back and checks the hash. Kafka was chosen over
a separate store because it is the one system every hivebus deployment already runs, and
the reference stays valid wherever the run moves.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from hivebus.durable.errors import JournalCodecError
from hivebus.envvars import int_env
from hivebus.kafka.connection import connection_settings
from hivebus.kafka.producer import AsyncProducer

CHUNK_BYTES = 512 * 1024
READ_TIMEOUT_S = 30.0


def inline_limit() -> int:
    return int_env("HIVEBUS_DURABLE_INLINE_BYTES", 32 * 1024, 1024, 512 * 1024)


class BlobStore:
    def __init__(self, topic: str, producer: AsyncProducer) -> None:
        self.topic = topic
        self._producer = producer

    async def put(self, run_id: str, seq: int, data: bytes, partition: int) -> bytes:
        """Write `data` in chunks and return the reference the journal keeps (JSON bytes)."""
        key = f"{run_id}/{seq}"  # chunk n is keyed `<key>/<n>`: the topic is compacted
        sends = [
            self._producer.send(
                self.topic, data[start : start + CHUNK_BYTES], key=f"{key}/{n}", partition=partition
            )
            for n, start in enumerate(range(0, max(len(data), 1), CHUNK_BYTES))
        ]
        messages = await asyncio.gather(*sends)
        ref = {
            "topic": self.topic, "partition": partition, "key": key,
            "offsets": [message.offset() for message in messages],
            "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
        }  # fmt: skip
        return json.dumps(ref).encode()

    async def forget(self, ref: bytes) -> None:
        """Tombstone every chunk a reference names, so compaction removes them."""
        found = json.loads(ref)
        await asyncio.gather(*(
            self._producer.send(self.topic, None, key=f"{found['key']}/{n}",
                                partition=found["partition"])
            for n in range(len(found["offsets"]))
        ))  # fmt: skip

    async def get(self, ref: bytes) -> bytes:
        """The bytes a reference names, checked against its hash."""
        return await asyncio.to_thread(_read, json.loads(ref))


def _read(ref: dict[str, Any]) -> bytes:
    offsets: list[int] = ref["offsets"]
    consumer = Consumer({
        **connection_settings("consumer"),
        "group.id": f"hivebus-blob-reader-{uuid.uuid4().hex[:8]}",
        "enable.auto.commit": False,
        "fetch.max.bytes": 8 * CHUNK_BYTES,
    })  # fmt: skip
    wanted, chunks = set(offsets), {}
    keys = {offset: f"{ref['key']}/{n}".encode() for n, offset in enumerate(offsets)}
    try:
        consumer.assign([TopicPartition(ref["topic"], ref["partition"], min(offsets))])
        while wanted:
            message = consumer.poll(READ_TIMEOUT_S)
            if message is None:
                raise JournalCodecError(f"a step result in {ref['topic']} could not be read back")
            if message.error() is not None:
                continue
            offset = message.offset() or 0
            if offset in wanted and message.key() == keys[offset]:
                chunks[offset] = message.value() or b""
                wanted.discard(offset)
            elif offset > max(offsets):
                break
    finally:
        consumer.close()
    if wanted:
        raise JournalCodecError(f"chunks {sorted(wanted)} of {ref['key']} are gone from the log")
    data = b"".join(chunks[offset] for offset in offsets)
    if len(data) != ref["size"] or hashlib.sha256(data).hexdigest() != ref["sha256"]:
        raise JournalCodecError(f"the stored result of {ref['key']} does not match its hash")
    return data
