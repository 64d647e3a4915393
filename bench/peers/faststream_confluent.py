"""FastStream on its confluent-kafka broker (`faststream.confluent`): systems
`faststream-confluent` and `faststream-confluent-workers` (the subscriber with
`max_workers=<concurrency>`).

The application itself is in `bench.peers._faststream` (shared with the aiokafka broker, whose
API is the same); this module picks the broker and reads the record key from confluent-kafka's
`Message.key()`.
"""

from __future__ import annotations

import sys
from typing import Any

from bench.peers import _faststream
from bench.peers.common import emit, parse_args

SYSTEMS = ("faststream-confluent", "faststream-confluent-workers")


def message_key(msg: Any) -> bytes | None:
    key: bytes | None = msg.raw_message.key()
    return key


def main(argv: list[str]) -> None:
    from faststream.confluent import KafkaBroker
    from faststream.confluent.annotations import KafkaMessage

    workload, config = parse_args(argv, SYSTEMS)
    emit(_faststream.run(
        workload, config, broker_class=KafkaBroker, message_annotation=KafkaMessage,
        message_key=message_key, concurrent=config.system.endswith("-workers"),
    ))  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1:])
