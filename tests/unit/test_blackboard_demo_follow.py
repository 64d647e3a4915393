"""The blackboard demo reads the board's state topic and the root causes side by side: a
root cause can be fetched before the board versions it was made from (two topics, fetched
independently). The demo must still show each board up to its closing version."""

from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Any

from hivebus.dev.blackboard_demo import _follow
from hivebus.patterns import BoardState
from hivebus.patterns.blackboard.records import Entry


@dataclass
class Cause:
    incident_id: str
    board_version: int
    root_cause: str = "a bad deploy"
    confidence: float = 0.9
    closed_by: str = "writer"


class Message:
    def __init__(self, topic: str, value: Any) -> None:
        self._topic, self._value = topic, value

    def topic(self) -> str:
        return self._topic

    def value(self) -> Any:
        return self._value

    def error(self) -> None:
        return None


class Reader:
    """Hands out its messages in order, then nothing."""

    def __init__(self, messages: list[Message]) -> None:
        self._messages = messages

    def poll(self, timeout: float) -> Message | None:
        return self._messages.pop(0) if self._messages else None


class Serde:
    def decode(self, value: Any, reader: type) -> Any:
        return value  # the fake messages carry the decoded records


def state(board: str, version: int, kind: str) -> BoardState:
    entry = Entry(post_id=f"p{version}", author="a", kind=kind, content="c", version=version,
                  based_on_version=version - 1, hop=0)  # fmt: skip
    return BoardState(board_id=board, version=version, status="open", entries=[entry])


def test_the_boards_are_shown_up_to_their_closing_version_when_the_cause_comes_first() -> None:
    setup = types.SimpleNamespace(resolved="resolved")
    kinds = ["alert", "logs", "close"]
    messages = [Message("resolved", Cause("inc-1", board_version=3))]  # before the board
    messages += [Message("state", state("inc-1", n + 1, kind)) for n, kind in enumerate(kinds)]
    lines: list[str] = []
    contracts = types.SimpleNamespace(RootCause=Cause)
    reader, serde = Reader(messages), Serde()
    causes = _follow(reader, serde, contracts, setup, {"inc-1"}, lines.append)  # type: ignore[arg-type]
    assert set(causes) == {"inc-1"}
    shown = [line.split()[3] for line in lines if line.strip().startswith("inc-1 v")]
    assert shown == kinds
