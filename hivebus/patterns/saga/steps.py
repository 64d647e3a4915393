"""A saga's declaration: ordered steps, each an action and what undoes it.

An action or a compensation is either `Local` (a function, run as a journaled `ctx.step`)
or `Remote` (a request to another agent, sent with `ctx.call`, whose reply may say it
failed). A step may offer several named compensations (refund or store credit, say); the
first is the declared one, and a chooser may pick another from the failure.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from hivebus.contracts import Record
from hivebus.durable import Callee
from hivebus.errors import ConfigError
from hivebus.runtime import Retry

In = TypeVar("In")
NAME = re.compile(r"^[a-z][a-z0-9_]*$")  # a step or option name: a JSON field, a step name
UNDO = "undo"  # the option name of a step's only compensation


@dataclass(frozen=True)
class SagaState(Generic[In]):
    """What an action or a compensation is handed: the saga's id and input, the results of
    the actions that finished (by step name), and the step it is for."""

    saga_id: str
    input: In
    results: Mapping[str, Any]
    step: str

    def idempotency_key(self, phase: str = "do") -> str:
        """A key the same on every replay and retry of this step's `phase` ("do", "undo"),
        for a side effect that must happen once even when its step runs again."""
        return f"{self.saga_id}/{self.step}/{phase}"


@dataclass(frozen=True)
class Local:
    """A function of the `SagaState` (sync or async) run as a journaled step: its result is
    recorded, so a replay never runs it again once it returned. `retry` retries it within
    the step; for a compensation the saga's `compensation_retry` applies when it is None."""

    fn: Callable[[SagaState[Any]], Any]
    retry: Retry | None = None
    returns: type[Any] | None = None

    def __post_init__(self) -> None:
        if not callable(self.fn):
            raise ConfigError(f"Local.fn must be callable, got {self.fn!r}")


@dataclass(frozen=True)
class Remote:
    """A request to another agent, built from the `SagaState` and sent once per attempt with
    `ctx.call`; `failed(reply)` says why the reply is a failure (None: it succeeded).

    A call that gets no reply within `timeout_s` is a failure *in doubt*: the callee may
    still act on the request, so the saga compensates that step too. `retry.attempts`
    requests are sent at most (1 for an action, the saga's `compensation_retry` for a
    compensation by default), with durable sleeps between; put `state.idempotency_key()` in
    the request so the callee applies it once."""

    callee: Callee
    request: Callable[[SagaState[Any]], Record]
    failed: Callable[[Any], str | None] | None = None
    timeout_s: float = 30.0
    retry: Retry | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.callee, Callee):
            raise ConfigError(f"Remote.callee must be a Callee, got {self.callee!r}")
        if not callable(self.request):
            raise ConfigError(f"Remote.request must be callable, got {self.request!r}")
        if not self.timeout_s > 0:
            raise ConfigError(f"Remote.timeout_s must be more than 0 s, got {self.timeout_s!r}")


Action = Local | Remote


@dataclass(frozen=True)
class Step:
    """One step of a saga: its `action`, and its compensation, one (`Local`/`Remote`) or
    several by name (the first is the declared one); None when there is nothing to undo."""

    name: str
    action: Action
    compensate: Action | Mapping[str, Action] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not NAME.match(self.name):
            raise ConfigError(f"Step.name must match {NAME.pattern}, got {self.name!r}")
        if not isinstance(self.action, Local | Remote):
            raise ConfigError(f"Step.action of {self.name!r} must be Local or Remote, "
                              f"got {self.action!r}")  # fmt: skip
        if isinstance(self.compensate, Mapping):
            if not self.compensate:
                raise ConfigError(f"Step.compensate of {self.name!r} names no option; "
                                  "leave it None when there is nothing to undo")  # fmt: skip
            for option, undo in self.compensate.items():
                if not isinstance(option, str) or not NAME.match(option):
                    raise ConfigError(f"Step.compensate of {self.name!r}: option names must "
                                      f"match {NAME.pattern}, got {option!r}")  # fmt: skip
                _check_action(self.name, option, undo)
        elif self.compensate is not None:
            _check_action(self.name, UNDO, self.compensate)

    def options(self) -> dict[str, Action]:
        """The compensations by name, the declared one first; empty when none."""
        if self.compensate is None:
            return {}
        if isinstance(self.compensate, Mapping):
            return dict(self.compensate)
        return {UNDO: self.compensate}


def _check_action(step: str, option: str, undo: object) -> None:
    if not isinstance(undo, Local | Remote):
        raise ConfigError(f"Step.compensate of {step!r} ({option}) must be Local or Remote, "
                          f"got {undo!r}")  # fmt: skip
