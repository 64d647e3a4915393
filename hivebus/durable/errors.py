"""What durable runs raise, each naming the run and what went wrong."""

from __future__ import annotations

from hivebus.errors import HivebusError
from hivebus.runtime.middlewares import NonRetryableError


class JournalCodecError(HivebusError):
    """A step result the journal cannot keep, or a recorded one it cannot read back."""


class DeterminismError(NonRetryableError):
    """The handler asked for a different step than the run's journal recorded at this point:
    its code changed (order or names) while the run was under way. The run is parked."""

    def __init__(self, run_id: str, position: int, recorded: str, requested: str) -> None:
        super().__init__(
            f"run {run_id} diverged from its journal at step {position}: the journal recorded "
            f"{recorded!r}, the handler now asks for {requested!r}. The run is parked; restore "
            "the handler's earlier step order, or cancel the run"
        )
        self.run_id, self.position = run_id, position
        self.recorded, self.requested = recorded, requested


class StepFailed(HivebusError):
    """A step failed for good (after its retries); replay raises the recorded failure again."""

    def __init__(self, name: str, error_type: str, message: str) -> None:
        super().__init__(f"step {name!r} failed: {error_type}: {message}")
        self.name, self.error_type, self.message = name, error_type, message


class WaitTimedOut(HivebusError):
    """`ctx.wait_for` reached its timeout before the signal came (replayed like a step)."""


class CallTimedOut(WaitTimedOut):
    """`ctx.call` reached its timeout before the callee's reply came."""
