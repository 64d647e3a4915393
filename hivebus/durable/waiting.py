"""What the waits on other agents (gather.py, collect.py) share: the part of the durable
context they drive, their deadlines, and the small functions their journaled steps run."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from hivebus.durable import codec
from hivebus.durable.run import stamp
from hivebus.runtime import Retry

if TYPE_CHECKING:
    from hivebus.durable.calls import Requests
    from hivebus.durable.run import Run
    from hivebus.kafka.records import Consumed


class Journaled(Protocol):
    """What a wait needs of the durable context (context.py), which offers the waits."""

    _run: Run

    @property
    def message(self) -> Consumed: ...

    async def _step_at(
        self,
        position: int,
        name: str,
        fn: Callable[..., Any],
        *args: Any,
        retry: Retry | None = None,
        returns: type[Any] | None = None,
    ) -> Any: ...


def requests_of(run: Run) -> Requests:
    assert run.requests is not None, "Runs gives every run its agent's Requests"
    return run.requests


def encoded(value: Any) -> tuple[str, str]:
    """A reply as the journal keeps it inside an outcome: (codec, text)."""
    kind, data = codec.encode(value)
    return kind, data.decode()


def deadline_after(timeout_s: float | None) -> str | None:
    return None if timeout_s is None else stamp(datetime.now(UTC) + timedelta(seconds=timeout_s))


def time_left(deadline: str | None) -> float | None:
    if deadline is None:
        return None
    return max(0.0, (datetime.fromisoformat(deadline) - datetime.now(UTC)).total_seconds())


def passed(deadline: str | None) -> bool:
    return deadline is not None and datetime.now(UTC) >= datetime.fromisoformat(deadline)


def same(value: Any) -> Any:
    return value


def unreachable() -> Awaitable[Any]:
    raise AssertionError("a recorded step is replayed, never run")
