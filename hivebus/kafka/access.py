"""A broker that refuses the connection: wrong credentials, a certificate that cannot be
verified. librdkafka retries both forever, reporting each attempt to the client's `error_cb`
only; without a look at those reports a command would hang until its own timeout and then
blame a "timeout". hivebus stops at the first refusal, naming the settings to check.
"""

from __future__ import annotations

import time
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient

from hivebus.errors import ConfigError, HivebusError
from hivebus.kafka.connection import connection, connection_settings
from hivebus.kafka.secrets import redact

FIRST_WAIT_S, LONGEST_WAIT_S = 0.25, 5.0  # for one answer to `check_access`

CREDENTIALS = ("sasl.mechanism", "sasl.username", "sasl.password")
CLI_TIMEOUT_S = 10.0  # a command's wait for a first answer from the cluster


class AccessDenied(ConfigError):
    """Kafka refused the connection's credentials or its TLS: no retry will help."""


def denial(error: KafkaError) -> AccessDenied | None:
    """The refusal `error` reports, as an error naming the settings behind it; None when
    `error` is something else (a broker down, a timeout: those may pass)."""
    code, text = error.code(), error.str()
    keys: tuple[str, ...]
    if code in (KafkaError._AUTHENTICATION, KafkaError.SASL_AUTHENTICATION_FAILED):
        what, keys = "refused the credentials", CREDENTIALS
    elif code == KafkaError._SSL:
        what, keys = "failed the TLS handshake", _tls_settings(text)
    else:
        return None
    found = connection()
    checks = ", ".join(found.where(key) for key in keys)
    message = f"Kafka at {found.values()['bootstrap.servers']} {what}: {text}; check {checks}"
    return AccessDenied(redact(message, found.secrets()))


class AccessWatch:
    """An `error_cb` that keeps the first refusal, for the client's own thread to raise."""

    def __init__(self) -> None:
        self.denied: AccessDenied | None = None

    def __call__(self, error: KafkaError) -> None:
        if self.denied is None:
            self.denied = denial(error)

    def check(self) -> None:
        """Raise the refusal seen so far, if any."""
        if self.denied is not None:
            raise self.denied


def flush_watched(producer: Producer, watch: AccessWatch, timeout_s: float) -> int:
    """Flush in short steps, raising the first refusal `watch` (the producer's `error_cb`)
    sees; returns how many records were still undelivered at `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    try:
        while (left := producer.flush(0.1)) and time.monotonic() < deadline:
            watch.check()
        watch.check()
    except AccessDenied:
        producer.purge()  # never to be delivered: drop them rather than warn at exit
        raise
    return int(left)


def check_access(timeout_s: float = 30.0) -> None:
    """Return once the cluster answers with the shared connection configuration; raise
    AccessDenied at its first refusal (within a second), HivebusError when no broker
    answers within `timeout_s`."""
    watch = AccessWatch()
    config: dict[str, Any] = {**connection_settings("admin"), "error_cb": watch, "log_level": 0}
    admin = AdminClient(config)
    deadline = time.monotonic() + timeout_s
    wait = FIRST_WAIT_S  # short, so a refusal shows at once; longer each time, for a broker
    while True:  # whose answer takes long (thousands of topics, a loaded machine)
        try:
            admin.list_topics(timeout=wait)
            return
        except KafkaException:
            pass
        admin.poll(0)  # serves error_cb
        watch.check()
        wait = min(2 * wait, LONGEST_WAIT_S, max(deadline - time.monotonic(), FIRST_WAIT_S))
        if time.monotonic() > deadline:
            found = connection()
            raise HivebusError(
                f"no Kafka broker answered at {found.values()['bootstrap.servers']} within "
                f"{timeout_s:g} s; check {found.where('bootstrap.servers')} and "
                f"{found.where('security.protocol')} (docs/connections.md)"
            )


def _tls_settings(text: str) -> tuple[str, ...]:
    """The settings a TLS failure points at, by what librdkafka says went wrong."""
    lowered = text.lower()
    if "hostname" in lowered or "name mismatch" in lowered:
        return "ssl.ca.location", "ssl.endpoint.identification.algorithm"
    if "certificate required" in lowered or "alert" in lowered:
        return "ssl.certificate.location", "ssl.key.location"
    return ("ssl.ca.location",)
