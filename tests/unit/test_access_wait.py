"""`check_access` against a broker whose metadata answer takes longer than its first wait
(thousands of topics on a loaded machine): it waits longer each time instead of asking
again forever with the same short timeout."""

from __future__ import annotations

import time
from typing import Any, ClassVar

import pytest
from confluent_kafka import KafkaError, KafkaException

from hivebus.errors import HivebusError
from hivebus.kafka import access


class SlowAdmin:
    """Answers only a request that waits at least `answer_s`."""

    answer_s = 0.9
    waits: ClassVar[list[float]] = []

    def __init__(self, config: dict[str, Any]) -> None:
        pass

    def list_topics(self, timeout: float) -> object:
        SlowAdmin.waits.append(timeout)
        if timeout < self.answer_s:
            time.sleep(timeout)
            raise KafkaException(KafkaError(KafkaError._TIMED_OUT))
        time.sleep(self.answer_s)
        return object()

    def poll(self, timeout: float) -> int:
        return 0


def test_a_slow_answer_is_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(access, "AdminClient", SlowAdmin)
    SlowAdmin.waits = []
    access.check_access(timeout_s=10)
    assert SlowAdmin.waits[0] == access.FIRST_WAIT_S and SlowAdmin.waits[-1] >= SlowAdmin.answer_s


def test_no_answer_still_ends_at_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(access, "AdminClient", SlowAdmin)
    monkeypatch.setattr(SlowAdmin, "answer_s", 60.0)
    began = time.monotonic()
    with pytest.raises(HivebusError, match="no Kafka broker answered"):
        access.check_access(timeout_s=2)
    assert time.monotonic() - began < 2 + access.FIRST_WAIT_S + 0.5  # its last wait: what was left
