"""Listening to each LLM call made in a context: the request, the reply or the failure.

The audit (`hivebus.audit`) listens while an agent handles an event, to record every call
with its prompt, reply, tokens and latency. `LLM` tells the innermost listener of the
current context, if any; with none, a call costs one `ContextVar.get` more.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from hivebus.llm.completion import Completion
from hivebus.llm.provider import ChatRequest

# (request, completion or None, error or None, seconds it took)
Listener = Callable[[ChatRequest, Completion | None, BaseException | None, float], None]

_LISTENER: ContextVar[Listener | None] = ContextVar("hivebus_llm_listener", default=None)


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Tell `listener` of every LLM call made in this context (tasks it starts included)."""
    token = _LISTENER.set(listener)
    try:
        yield
    finally:
        _LISTENER.reset(token)


def current() -> Listener | None:
    """The listener of this context, for one that listens too and passes each call on."""
    return _LISTENER.get()


def heard(
    request: ChatRequest, completion: Completion | None, error: BaseException | None, took: float
) -> None:
    """Tell the current listener of one call (it must not raise: it is told, not asked)."""
    listener = _LISTENER.get()
    if listener is not None:
        listener(request, completion, error, took)
