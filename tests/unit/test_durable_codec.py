"""How step results are kept in the journal and read back: JSON, models, dataclasses."""

from __future__ import annotations

import pytest

from hivebus.durable import JournalCodecError, codec
from hivebus.llm.completion import Completion
from tests.integration.runtime_contracts import Pong


def test_an_llm_completion_round_trips_as_the_same_dataclass() -> None:
    reply = Completion(text="three queries", model="m", prompt_tokens=12, completion_tokens=4,
                       latency_s=0.8, finish_reason="stop")  # fmt: skip
    kind, data = codec.encode(reply)
    assert kind == "dataclass:hivebus.llm.completion:Completion"
    assert b'"text":"three queries"' in data  # readable JSON in the journal
    assert codec.decode(kind, data) == reply


def test_models_and_json_values_round_trip() -> None:
    pong = Pong(id="p1", key="k", seq=3, handled_by="x")
    assert codec.decode(*codec.encode(pong)) == pong
    assert codec.decode(*codec.encode({"a": [1, 2.5, None]})) == {"a": [1, 2.5, None]}


def test_a_value_the_journal_cannot_keep_is_refused_with_what_it_takes() -> None:
    with pytest.raises(JournalCodecError, match="JSON values"):
        codec.encode(object())
    with pytest.raises(JournalCodecError, match="cannot be imported"):
        codec.decode("dataclass:nowhere.at_all:Thing", b"{}")
