"""A provider that answers without a server or key, so examples and tests run anywhere.

Replies are deterministic: the same messages always give the same text. They are marked as
what they are — the text starts with "[offline]" and every reply's model is "offline" — so an
offline answer is never mistaken for a real model's. `temperature` is ignored.
"""

from __future__ import annotations

import asyncio
import hashlib
import json

from hivebus.llm.provider import ChatRequest, Reply
from hivebus.llm.sample import sample_instance
from hivebus.llm.tokens import content_text, estimate_prompt_tokens, estimate_tokens

OFFLINE_MODEL = "offline"
LEADS = ("Summary:", "In short:", "Gist:", "Noted:")
SNIPPET_WORDS = 24


class OfflineProvider:
    """Echoes a short summary of the last user message; builds schema instances in JSON mode."""

    async def chat(self, request: ChatRequest) -> Reply:
        await asyncio.sleep(0)  # yield once, as real I/O would, so concurrency stays honest
        seed = _seed(request)
        finish_reason = "stop"
        if request.schema is not None:
            text = sample_instance(request.schema, seed).model_dump_json()
        elif request.response_format and request.response_format.get("type") != "text":
            text = json.dumps({"reply": _summary(request, seed)})
        else:
            text = _summary(request, seed)
            if request.max_tokens is not None and estimate_tokens(text) > request.max_tokens:
                text, finish_reason = _truncate(text, request.max_tokens), "length"
        return Reply(
            text=text,
            model=OFFLINE_MODEL,
            prompt_tokens=estimate_prompt_tokens(request.messages),
            completion_tokens=estimate_tokens(text),
            finish_reason=finish_reason,
        )

    async def aclose(self) -> None:
        """Nothing to release."""


def _seed(request: ChatRequest) -> str:
    """A stable digest of the conversation: same messages, same reply, in any process."""
    parts = [f"{m.get('role')}:{content_text(m)}" for m in request.messages]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _summary(request: ChatRequest, seed: str) -> str:
    users = [content_text(m) for m in request.messages if m.get("role") == "user"]
    words = (users[-1] if users else "").split()
    snippet = " ".join(words[:SNIPPET_WORDS]) + (" ..." if len(words) > SNIPPET_WORDS else "")
    lead = LEADS[int(seed[:8], 16) % len(LEADS)]
    return f"[offline] {lead} {snippet or '(empty prompt)'}"


def _truncate(text: str, max_tokens: int) -> str:
    """The longest word prefix of `text` whose estimate fits in `max_tokens`."""
    words = text.split()
    while words and estimate_tokens(" ".join(words)) > max_tokens:
        words.pop()
    return " ".join(words)
