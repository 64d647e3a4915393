"""Prompts become chat messages without touching the caller's list; replies parse as JSON."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from hivebus.llm import Completion, LLMReplyError
from hivebus.llm.json_reply import json_instruction, json_response_format, parse_json_reply
from hivebus.llm.messages import to_messages


class Answer(BaseModel):
    value: int


def _completion(text: str) -> Completion:
    return Completion(text, "served", 1, 1, 0.01, "stop")


def test_a_string_is_one_user_message_after_the_system_prompt() -> None:
    assert to_messages("hi", system="be kind") == [
        {"role": "system", "content": "be kind"},
        {"role": "user", "content": "hi"},
    ]


def test_a_message_list_is_copied_not_changed() -> None:
    history: list[dict[str, Any]] = [{"role": "user", "content": "a"}]
    messages = to_messages(history, system="s")
    assert [m["role"] for m in messages] == ["system", "user"]
    assert history == [{"role": "user", "content": "a"}]


@pytest.mark.parametrize(
    ("prompt", "message"), [([], "prompt has no messages"), ([{"content": "x"}], "no 'role'")]
)
def test_malformed_messages_are_rejected(prompt: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        to_messages(prompt)


def test_the_response_format_names_the_schema() -> None:
    response_format = json_response_format(Answer)
    assert response_format["json_schema"]["name"] == "Answer"
    assert "value" in json_instruction(Answer, None)
    assert json_instruction(Answer, "sys").startswith("sys\n\n")


@pytest.mark.parametrize("text", ['{"value": 3}', '```json\n{"value": 3}\n```', ' {"value":3}\n'])
def test_replies_parse_with_or_without_a_fence(text: str) -> None:
    assert parse_json_reply(_completion(text), Answer) == Answer(value=3)


def test_an_invalid_reply_keeps_the_text_and_says_why() -> None:
    with pytest.raises(LLMReplyError, match=r"model 'served' .* value: Input should be a valid"):
        parse_json_reply(_completion('{"value": "three"}'), Answer)
