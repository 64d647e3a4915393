"""JSON mode: asking for output that fits a pydantic model, and checking that it does.

The request carries the schema twice — as `response_format` for servers that enforce it, and
in the system prompt for compatible servers that ignore `response_format` — and the reply is
validated either way, because no server's promise is trusted blindly.
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from hivebus.llm.completion import Completion
from hivebus.llm.errors import LLMReplyError

M = TypeVar("M", bound=BaseModel)
SHOWN_REPLY_CHARS = 200
SHOWN_ERRORS = 3


def json_response_format(schema: type[BaseModel]) -> dict[str, Any]:
    """The OpenAI `response_format` asking for JSON that follows `schema`."""
    name = re.sub(r"[^A-Za-z0-9_-]", "_", schema.__name__)[:64]
    return {
        "type": "json_schema",
        "json_schema": {"name": name, "schema": schema.model_json_schema()},
    }


def json_instruction(schema: type[BaseModel], system: str | None) -> str:
    """`system` followed by the instruction to answer with one JSON object of `schema`."""
    instruction = (
        "Reply with one JSON object, and nothing else, that follows this JSON schema:\n"
        + json.dumps(schema.model_json_schema(), separators=(",", ":"))
    )
    return f"{system}\n\n{instruction}" if system else instruction


def parse_json_reply(completion: Completion, schema: type[M]) -> M:
    """The reply as a `schema` instance, or an `LLMReplyError` saying what was wrong with it."""
    try:
        return schema.model_validate_json(_unfence(completion.text))
    except ValidationError as exc:
        raise LLMReplyError(
            f"model {completion.model!r} did not reply with a valid {schema.__name__}: "
            f"{_describe(exc)}; the reply began {completion.text[:SHOWN_REPLY_CHARS]!r}",
            text=completion.text,
        ) from exc


def _unfence(text: str) -> str:
    """The JSON inside a ```json fence, which chat models add even when asked not to."""
    stripped = text.strip()
    if not stripped.startswith("```"):
        return stripped
    body = stripped.split("\n", 1)[1] if "\n" in stripped else ""
    return body.removesuffix("```").strip()


def _describe(exc: ValidationError) -> str:
    errors = exc.errors()
    if errors[0]["type"] == "json_invalid":
        return f"the reply is not JSON ({errors[0]['msg']})"
    shown = [f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}" for e in errors]
    more = f" and {len(errors) - SHOWN_ERRORS} more" if len(errors) > SHOWN_ERRORS else ""
    return "; ".join(shown[:SHOWN_ERRORS]) + more
