"""The offline provider answers deterministically, marks itself, and estimates tokens."""

from __future__ import annotations

import datetime as dt
import enum
import json
import uuid
from typing import Literal

import pytest
from prometheus_client import CollectorRegistry
from pydantic import BaseModel, Field

from hivebus.llm import LLM, LLMError, OfflineProvider
from hivebus.llm.metering import Meter
from hivebus.llm.tokens import estimate_prompt_tokens, estimate_tokens


@pytest.fixture
def llm() -> LLM:
    return LLM(OfflineProvider(), model="gpt-4o-mini", meter=Meter(CollectorRegistry()))


class Severity(enum.Enum):
    LOW = "low"
    HIGH = "high"


class Evidence(BaseModel):
    source: str
    weight: int = Field(ge=1, le=5)


class Finding(BaseModel):
    label: Literal["fraud", "legit"]
    risk: float = Field(ge=0, le=1)
    summary: str = Field(min_length=3, max_length=12)
    severity: Severity
    confirmed: bool
    evidence: list[Evidence] = Field(min_length=2)
    scores: dict[str, float]
    reviewer: str | None
    seen_at: dt.datetime
    case_id: uuid.UUID
    note: str = "kept default"


async def test_the_same_prompt_gives_the_same_reply(llm: LLM) -> None:
    first = await llm.complete("Summarise: Alice paid Bob 500 EUR at 03:12 from a new device.")
    second = await llm.complete("Summarise: Alice paid Bob 500 EUR at 03:12 from a new device.")
    other = await llm.complete("Summarise: Carol paid Dan 20 EUR.")

    assert first.text == second.text
    assert first.text != other.text
    assert first.text.startswith("[offline] ")
    assert "Alice paid Bob 500 EUR" in first.text


async def test_every_reply_says_it_is_offline(llm: LLM) -> None:
    completion = await llm.complete("hello", model="gpt-4o")
    assert completion.model == "offline"
    assert completion.finish_reason == "stop"
    assert completion.latency_s < 0.1


async def test_token_counts_are_estimated_from_text_length(llm: LLM) -> None:
    completion = await llm.complete("x" * 40, system="y" * 8)

    # (3 + 8/4) for the system message, (3 + 40/4) for the user message
    assert completion.prompt_tokens == 18
    assert completion.completion_tokens == estimate_tokens(completion.text)
    assert completion.completion_tokens == -(-len(completion.text) // 4)


def test_estimates_round_up_and_read_content_parts() -> None:
    assert [estimate_tokens(t) for t in ("", "a", "abcd", "abcde")] == [0, 1, 1, 2]
    parts = [{"role": "user", "content": [{"type": "text", "text": "abcdefgh"}]}]
    assert estimate_prompt_tokens(parts) == 3 + 2


async def test_max_tokens_cuts_the_reply_and_says_so(llm: LLM) -> None:
    completion = await llm.complete("word " * 100, max_tokens=5)
    assert completion.completion_tokens <= 5
    assert completion.finish_reason == "length"


async def test_json_mode_builds_a_valid_instance_of_the_schema(llm: LLM) -> None:
    finding = await llm.complete_json("Is tx 7 fraud?", schema=Finding)

    assert isinstance(finding, Finding)
    assert 0 < finding.risk < 1
    assert 3 <= len(finding.summary) <= 12
    assert len(finding.evidence) == 2
    assert all(1 <= e.weight <= 5 for e in finding.evidence)
    assert finding.note == "kept default"
    assert finding == await llm.complete_json("Is tx 7 fraud?", schema=Finding)


async def test_json_mode_replies_differ_by_prompt(llm: LLM) -> None:
    answers = {
        (await llm.complete_json(f"case {n}", schema=Finding)).model_dump_json() for n in range(5)
    }
    assert len(answers) == 5


async def test_json_object_mode_without_schema_is_valid_json(llm: LLM) -> None:
    completion = await llm.complete("hi", response_format={"type": "json_object"})
    assert json.loads(completion.text)["reply"].startswith("[offline]")


async def test_a_schema_it_cannot_build_is_a_named_error(llm: LLM) -> None:
    class Code(BaseModel):
        value: str = Field(pattern=r"^[A-Z]{3}-\d{4}$")

    with pytest.raises(LLMError, match=r"valid Code: value: String should match pattern"):
        await llm.complete_json("code?", schema=Code)


async def test_self_referencing_schemas_end(llm: LLM) -> None:
    class Node(BaseModel):
        name: str
        child: Node | None

    node = await llm.complete_json("tree", schema=Node)
    depth = 0
    while node.child is not None:
        node, depth = node.child, depth + 1
    assert 0 < depth < 10
