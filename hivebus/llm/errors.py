"""Errors of the LLM layer, each saying which call failed and what the server or model did."""

from __future__ import annotations

from hivebus.errors import HivebusError


class LLMError(HivebusError):
    """Any failure of an LLM call that a handler may want to catch as one kind."""


class LLMRequestError(LLMError):
    """The server could not be reached or answered with an error after the SDK's retries."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class LLMReplyError(LLMError):
    """The model answered, but not with what was asked (no choice, or JSON not matching the schema).

    `text` keeps the raw reply so a handler can log it or ask again.
    """

    def __init__(self, message: str, *, text: str) -> None:
        super().__init__(message)
        self.text = text
