"""Turning what a handler passes (a string or chat messages, and a system prompt) into messages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Prompt = str | Sequence[dict[str, Any]]


def to_messages(prompt: Prompt, system: str | None = None) -> list[dict[str, Any]]:
    """Chat messages for `prompt`, with `system` first when given.

    A string becomes one user message; a list of messages is copied so the caller's list
    is never changed by the call.
    """
    if isinstance(prompt, str):
        messages: list[dict[str, Any]] = [{"role": "user", "content": prompt}]
    else:
        messages = [dict(message) for message in prompt]
        if not messages:
            raise ValueError("prompt has no messages")
        for index, message in enumerate(messages):
            if not isinstance(message.get("role"), str):
                raise ValueError(f"prompt message {index} has no 'role'")
    if system is not None:
        messages.insert(0, {"role": "system", "content": system})
    return messages
