"""Token estimates for when no server counts: the offline provider, or a server without `usage`.

About four characters per token is the usual rule of thumb for English text with
OpenAI tokenizers; an estimate is all metering needs, and it keeps tiktoken out of the deps.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

CHARS_PER_TOKEN = 4
TOKENS_PER_MESSAGE = 3  # role and separators the chat format adds around each message


def estimate_tokens(text: str) -> int:
    """Tokens in `text`: zero for empty text, else at least one."""
    return -(-len(text) // CHARS_PER_TOKEN)


def estimate_prompt_tokens(messages: Sequence[dict[str, Any]]) -> int:
    """Tokens of a chat prompt: each message's content plus the chat format's overhead."""
    return sum(TOKENS_PER_MESSAGE + estimate_tokens(content_text(m)) for m in messages)


def content_text(message: dict[str, Any]) -> str:
    """The text of a message, whether `content` is a string or a list of typed parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            part["text"]
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return ""
