"""librdkafka judges client settings before any client runs; its refusal becomes one sentence
naming the key as the user wrote it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer

from hivebus.errors import ConfigError
from hivebus.kafka.defaults import CONSUMER_DEFAULTS, PRODUCER_DEFAULTS

Kind = Literal["consumer", "producer"]
Refusal = KafkaException | KafkaError | TypeError | ValueError

# librdkafka quotes the property its message is about: `No such configuration property: "x"`,
# `Invalid value "y" for configuration property "x"`, `Expected bool value for "x": ...`.
_NAMED = re.compile(r'(?:property:? |for )"(?P<name>[^"]+)"')
# ... or starts with it, unquoted, when a file it names cannot be used: `ssl.ca.location failed:`.
_LEADING = re.compile(r"^(?P<name>[a-z][a-z0-9_.]*[a-z]) failed:")


@dataclass(frozen=True)
class Refused:
    """Why librdkafka would not build a `kind` client: the key to blame (None for a rule
    across settings) and librdkafka's reason, without the key it names."""

    kind: Kind
    key: str | None
    reason: str

    @property
    def message(self) -> str:
        if self.key is None:
            return f"invalid {self.kind} settings: {self.reason}"
        return f"invalid {self.kind} setting {self.key!r}: {self.reason}"


def check_settings(kind: Kind, overrides: Mapping[str, Any]) -> None:
    """Refuse settings a librdkafka `kind` client would reject, in a sentence naming the key.

    Raises ConfigError.
    """
    refused = refusal(kind, overrides)
    if refused is not None:
        raise ConfigError(refused.message)


def refusal(kind: Kind, overrides: Mapping[str, Any]) -> Refused | None:
    """What librdkafka says to hivebus's defaults with `overrides` on top; None when it accepts.

    A throwaway client is built without `bootstrap.servers` (so it starts no broker thread and
    connects nowhere) and with logging off, then closed at once: a millisecond or two.
    """
    error = _refusal(kind, overrides)
    if error is None:
        return None
    return _refused(kind, error, key=_culprit(kind, overrides, error))


def describe_config_error(kind: Kind, error: Refusal, *, key: str | None = None) -> str:
    """librdkafka's refusal of a client configuration as one plain sentence naming the key.

    `key` is the setting as the user wrote it, when known. Without it the key is the property
    librdkafka's message quotes, which is its canonical name (`linger.ms` is
    `queue.buffering.max.ms` to it); rules across settings (`acks` with idempotence) quote none.
    """
    return _refused(kind, error, key=key).message


def _refused(kind: Kind, error: Refusal, *, key: str | None) -> Refused:
    text = _text(error).removeprefix(f"Failed to create {kind}: ")
    match = _NAMED.search(text)
    named = match.group("name") if match else None
    key = key or named
    reason = _unnamed(text, key) if key is not None and named == key else text
    return Refused(kind, key, reason)


def _refusal(kind: Kind, overrides: Mapping[str, Any]) -> Refusal | None:
    """Why a `kind` client with these overrides cannot be created, or None when it can."""
    if kind == "consumer":
        base = {**CONSUMER_DEFAULTS, "group.id": "hivebus-check"}
    else:
        base = {**PRODUCER_DEFAULTS, "client.id": "check"}
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
    """The override `error` is about: the one it names, else the only one whose value it
    quotes (`Unsupported hash function: SCRAM-SHA-999`), else the first whose removal changes
    the outcome (it passes, or fails for another reason); None when no single one does."""
    text = _text(error)
    for pattern in (_NAMED, _LEADING):
        named = pattern.search(text.removeprefix(f"Failed to create {kind}: "))
        if named and named.group("name") in overrides:
            return named.group("name")
    quoted = [k for k, v in overrides.items() if isinstance(v, str) and len(v) > 2 and v in text]
    if len(quoted) == 1:
        return quoted[0]
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
