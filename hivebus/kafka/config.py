"""librdkafka configurations with hivebus defaults; user overrides are checked by name."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer

from hivebus.errors import ConfigError
from hivebus.kafka.endpoints import bootstrap_servers

Config = dict[str, Any]
Kind = Literal["consumer", "producer"]

CONSUMER_DEFAULTS: Config = {
    # Offsets are committed by hivebus (lowest incomplete offset), never automatically.
    "enable.auto.commit": False,
    "enable.auto.offset.store": False,
    "auto.offset.reset": "earliest",
    # Cooperative rebalancing: a new member does not stop the others' work.
    "partition.assignment.strategy": "cooperative-sticky",
    # Pattern subscriptions see new topics within seconds, not the default five minutes.
    "topic.metadata.refresh.interval.ms": 5000,
    "isolation.level": "read_committed",
    "session.timeout.ms": 45000,
    "max.poll.interval.ms": 300000,
}

PRODUCER_DEFAULTS: Config = {
    "enable.idempotence": True,
    "acks": "all",
    # 1 ms, not librdkafka's 5: agents sit in request/response chains where every hop's linger
    # adds up, and under load batches still form while requests are in flight. Measured in
    # `make bench`: p50 latency 7.5 -> 3.3 ms at 100 events/s, pass-through rate unchanged.
    "linger.ms": 1,
    "compression.type": "lz4",
    # The Java client's partitioner (librdkafka's default hashes keys with CRC32 instead): a
    # key lands on the same partition whichever client produced it, so a key's events stay
    # in order across producers, and a durable run's signal from any client reaches the
    # partition that holds the run.
    "partitioner": "murmur2_random",
}


def consumer_config(group_id: str, overrides: Mapping[str, Any] | None = None) -> Config:
    """Consumer settings for an agent's group (group id = agent name)."""
    return {
        "bootstrap.servers": bootstrap_servers(),
        **CONSUMER_DEFAULTS,
        "group.id": group_id,
        **(overrides or {}),
    }


def producer_config(client_id: str, overrides: Mapping[str, Any] | None = None) -> Config:
    """Producer settings: idempotent by default, so retries never duplicate or reorder."""
    return {
        "bootstrap.servers": bootstrap_servers(),
        **PRODUCER_DEFAULTS,
        "client.id": client_id,
        **(overrides or {}),
    }


def check_settings(kind: Kind, overrides: Mapping[str, Any]) -> None:
    """Refuse settings a librdkafka `kind` client would reject, in a sentence naming the key.

    librdkafka itself is the judge: a throwaway client is built from hivebus's defaults with
    `overrides` on top, but without `bootstrap.servers` (so it starts no broker thread and
    connects nowhere) and with logging off, then closed at once: a millisecond or two.
    Raises ConfigError.
    """
    error = _refusal(kind, overrides)
    if error is not None:
        key = _culprit(kind, overrides, error)
        raise ConfigError(describe_config_error(kind, error, key=key))


# librdkafka quotes the property its message is about: `No such configuration property: "x"`,
# `Invalid value "y" for configuration property "x"`, `Expected bool value for "x": ...`.
_NAMED = re.compile(r'(?:property:? |for )"(?P<name>[^"]+)"')

Refusal = KafkaException | KafkaError | TypeError | ValueError


def describe_config_error(kind: Kind, error: Refusal, *, key: str | None = None) -> str:
    """librdkafka's refusal of a client configuration as one plain sentence naming the key.

    `key` is the setting as the user wrote it, when known. Without it the key is the property
    librdkafka's message quotes, which is its canonical name (`linger.ms` is
    `queue.buffering.max.ms` to it); rules across settings (`acks` with idempotence) quote none.
    """
    text = _text(error).removeprefix(f"Failed to create {kind}: ")
    match = _NAMED.search(text)
    named = match.group("name") if match else None
    key = key or named
    if key is None:
        return f"invalid {kind} settings: {text}"
    reason = _unnamed(text, key) if named == key else text
    return f"invalid {kind} setting {key!r}: {reason}"


def _refusal(kind: Kind, overrides: Mapping[str, Any]) -> Refusal | None:
    """Why a `kind` client with these overrides cannot be created, or None when it can."""
    base = consumer_config("hivebus-check") if kind == "consumer" else producer_config("check")
    config = {**base, "log_level": 0, **overrides}
    config.pop("bootstrap.servers", None)
    if kind == "consumer" and config.get("group.id") == "":
        # confluent_kafka aborts the whole process (a failed C assert) on an empty group id.
        return ValueError('Configuration property "group.id" cannot be set to empty value')
    try:
        client = Consumer(config) if kind == "consumer" else Producer(config)
    except (KafkaException, TypeError, ValueError) as error:  # the last two: Python-side checks
        return error
    client.close()
    return None


def _culprit(kind: Kind, overrides: Mapping[str, Any], error: Refusal) -> str | None:
    """The override `error` is about: the one it quotes, else the first whose removal changes
    the outcome (it passes, or fails for another reason); None when no single one does."""
    text = _text(error)
    named = _NAMED.search(text)
    if named and named.group("name") in overrides:
        return named.group("name")
    for key in overrides:
        rest = {k: v for k, v in overrides.items() if k != key}
        without = _refusal(kind, rest)
        if without is None or _text(without) != text:
            return key
    return None


def _text(error: Refusal) -> str:
    if isinstance(error, KafkaException) and error.args:
        error = error.args[0]
    return (error.str() if isinstance(error, KafkaError) else str(error)).strip()


def _unnamed(text: str, name: str) -> str:
    """librdkafka's message without the property name, which the sentence says before it."""
    quoted = re.escape(f'"{name}"')
    for pattern in (
        rf": {quoted}$",  # No such configuration property: "x"
        rf"^(?:\w+ )?[Cc]onfiguration property {quoted} ",  # Integer configuration property "x" ...
        rf"(?: for configuration property| for) {quoted}",  # Invalid value "v" for ... "x"
    ):
        text = re.sub(pattern, "", text)
    return text[:1].upper() + text[1:]
