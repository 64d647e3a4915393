"""librdkafka settings are judged by librdkafka before any client runs, in one plain sentence."""

from __future__ import annotations

import time
from typing import Literal

import pytest
from confluent_kafka import KafkaException, Producer

from hivebus.errors import ConfigError
from hivebus.kafka.config import check_settings, describe_config_error


def _refusal(kind: Literal["consumer", "producer"], **overrides: object) -> str:
    with pytest.raises(ConfigError) as refused:
        check_settings(kind, overrides)
    message = str(refused.value)
    assert "\n" not in message
    assert "KafkaError{" not in message
    return message


def test_an_unknown_key_is_refused_by_name() -> None:
    assert _refusal("consumer", **{"fetch.wait.max.msx": "5"}) == (
        "invalid consumer setting 'fetch.wait.max.msx': No such configuration property"
    )
    assert _refusal("producer", **{"linger.mss": "1"}) == (
        "invalid producer setting 'linger.mss': No such configuration property"
    )


def test_a_bad_value_is_refused_under_the_key_as_written() -> None:
    # librdkafka knows linger.ms as queue.buffering.max.ms; the user's spelling is named.
    assert _refusal("producer", **{"linger.ms": "abc"}).startswith(
        "invalid producer setting 'linger.ms': Invalid value"
    )
    assert _refusal("producer", **{"linger.ms": "99999999"}).startswith(
        "invalid producer setting 'linger.ms': "
    )
    assert _refusal("consumer", **{"enable.auto.commit": "maybe"}) == (
        "invalid consumer setting 'enable.auto.commit': Expected bool value: true or false"
    )
    assert _refusal("consumer", **{"auto.offset.reset": "bogus"}) == (
        "invalid consumer setting 'auto.offset.reset': Invalid value \"bogus\""
    )


def test_the_bad_key_is_found_among_good_ones() -> None:
    message = _refusal(
        "producer", **{"batch.size": "65536", "linger.ms": "abc", "compression.type": "zstd"}
    )
    assert message.startswith("invalid producer setting 'linger.ms': ")


def test_a_setting_that_breaks_a_hivebus_default_is_named() -> None:
    # hivebus producers are idempotent, which librdkafka only allows with acks=all.
    message = _refusal("producer", acks="1")
    assert message.startswith("invalid producer setting 'acks': ")
    assert "enable.idempotence" in message


def test_an_empty_group_id_is_refused_instead_of_aborting_the_process() -> None:
    assert _refusal("consumer", **{"group.id": ""}).startswith(
        "invalid consumer setting 'group.id'"
    )


def test_good_settings_pass_quickly() -> None:
    started = time.perf_counter()
    check_settings("consumer", {"max.poll.interval.ms": "600000", "session.timeout.ms": 30000})
    check_settings("producer", {"linger.ms": "20", "compression.type": "zstd", "acks": "all"})
    check_settings("producer", {"enable.idempotence": "false", "acks": "1"})
    # The check builds its client without bootstrap.servers, so this one is never contacted.
    check_settings("producer", {"bootstrap.servers": "192.0.2.1:9092"})
    check_settings("consumer", {})
    assert time.perf_counter() - started < 0.5


def test_librdkafkas_own_error_becomes_the_sentence() -> None:
    with pytest.raises(KafkaException) as raised:
        Producer({"linger.mss": 1})
    assert describe_config_error("producer", raised.value) == (
        "invalid producer setting 'linger.mss': No such configuration property"
    )
    assert describe_config_error("producer", raised.value.args[0]) == (
        "invalid producer setting 'linger.mss': No such configuration property"
    )

    with pytest.raises(KafkaException) as raised:
        Producer({"linger.ms": "abc"})
    # Without the user's spelling, the property librdkafka names is the key.
    assert describe_config_error("producer", raised.value) == (
        "invalid producer setting 'queue.buffering.max.ms': Invalid value"
    )
    assert describe_config_error("producer", raised.value, key="linger.ms").startswith(
        "invalid producer setting 'linger.ms': Invalid value"
    )

    with pytest.raises(KafkaException) as raised:
        Producer({"enable.idempotence": True, "acks": 1})
    assert describe_config_error("producer", raised.value) == (
        "invalid producer settings: `acks` must be set to `all` when `enable.idempotence` is true"
    )
