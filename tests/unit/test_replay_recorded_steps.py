"""`replay --tools record`: how a step is looked up in the record and what it returns."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import BaseModel

from hivebus.replay.recorded import MarkInput, NotRecorded
from hivebus.replay.recorded_steps import RecordedStep, RecordedStepFailed, StepsFromRecord
from hivebus.runtime.middlewares import NonRetryableError
from hivebus.runtime.step_source import STEP_SOURCE


class Verdict(BaseModel):
    risk: float


class Book:
    """Recorded steps by (input, name): a list each, in the order they ran."""

    def __init__(self, steps: dict[tuple[str, str], list[RecordedStep]]) -> None:
        self.steps = steps
        self.asked: list[tuple[str, str, str, int]] = []

    def lookup(self, agent: str, input_id: str, name: str, index: int) -> RecordedStep | None:
        self.asked.append((agent, input_id, name, index))
        found = self.steps.get((input_id, name), [])
        return found[index] if index < len(found) else None


class _Job:
    def __init__(self, input_id: str) -> None:
        self.input_id = input_id

    def lineage(self) -> tuple[str, str, None]:
        return (self.input_id, self.input_id, None)


class _Call:
    def __init__(self, input_id: str) -> None:
        self.job = _Job(input_id)


def serve(
    source: StepsFromRecord, input_id: str, *steps: tuple[str, type[Any] | None]
) -> list[Any]:
    """Run `steps` (name, returns) in one handling of `input_id`, as `ctx.step` would."""
    results: list[Any] = []

    async def handler(_: Any) -> None:
        for name, returns in steps:
            served = STEP_SOURCE.get().replace(name, _never_called, returns)  # type: ignore[union-attr]
            try:
                results.append(served("an argument"))
            except RecordedStepFailed as error:
                results.append(error)

    asyncio.run(MarkInput(source)(_Call(input_id), handler))  # type: ignore[arg-type]
    return results


def _never_called(*_: Any) -> Any:
    raise AssertionError("a step served from the record must not run")


def test_each_name_counts_its_own_steps_and_returns_rebuilds_the_type() -> None:
    book = Book({
        ("e1", "score"): [RecordedStep('{"risk": 0.25}'), RecordedStep('{"risk": 0.5}')],
        ("e1", "note"): [RecordedStep('"hello"')],
    })  # fmt: skip
    source = StepsFromRecord(book, "fraud")
    got = serve(source, "e1", ("score", Verdict), ("note", None), ("score", None))
    assert got == [Verdict(risk=0.25), "hello", {"risk": 0.5}]
    assert book.asked == [("fraud", "e1", "score", 0), ("fraud", "e1", "note", 0),
                          ("fraud", "e1", "score", 1)]  # fmt: skip


def test_a_recorded_failure_fails_alike_with_its_message() -> None:
    book = Book({("e2", "score"): [RecordedStep(None, "the service is down", "ValueError")]})
    [error] = serve(StepsFromRecord(book, "fraud"), "e2", ("score", None))
    assert isinstance(error, RecordedStepFailed)
    assert str(error) == "the service is down" and error.recorded_type == "ValueError"
    assert not isinstance(error, NonRetryableError)  # the handler may retry, as it did live


def test_a_step_the_record_does_not_have_fails_at_once() -> None:
    book = Book({})
    source = StepsFromRecord(book, "fraud")
    with pytest.raises(NotRecorded, match="step 'score' #1 of fraud handling e3"):
        serve(source, "e3", ("score", None))
    assert book.asked == [("fraud", "e3", "score", 0)]  # asked once
    assert issubclass(NotRecorded, NonRetryableError)  # and the handler is not retried
    with pytest.raises(NotRecorded, match="outside the handling"):
        source.replace("score", _never_called, None)


def test_the_input_marker_puts_the_source_in_force_for_the_handling_only() -> None:
    source = StepsFromRecord(Book({}), "fraud")
    seen: list[object] = []

    async def handler(_: Any) -> None:
        seen.append(STEP_SOURCE.get())

    asyncio.run(MarkInput(source)(_Call("e4"), handler))  # type: ignore[arg-type]
    assert seen == [source] and STEP_SOURCE.get() is None
