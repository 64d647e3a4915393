"""Saga with compensation: steps with compensating actions, undone in reverse on failure.

```
event ──▶ coordinator (durable, exactly-once): one run per saga
            step 1 action ─ ctx.step (Local) or ctx.call (Remote) ─▶ finished
            step 2 action ─▶ finished
            step 3 action ─▶ FAILS (raises, reply says so, or times out)
            chooser (optional, e.g. an LLM) ─ ctx.step ─▶ which compensation per step
            undo step 2 ─▶ undo step 1        (reverse order, each journaled, retried)
          ──SagaOutcome──▶ <saga>.outcomes    (completed | compensated | compensation_failed)
```

Built only from durable runs: a coordinator killed anywhere resumes from its journal, and a
compensation that returned is never run again. See docs/patterns/saga.md.
"""

from __future__ import annotations

from hivebus.patterns.saga.chooser import Choice, Chooser, LLMChooser
from hivebus.patterns.saga.records import SagaFailure, SagaOutcome
from hivebus.patterns.saga.saga import Saga
from hivebus.patterns.saga.steps import Local, Remote, SagaState, Step

__all__ = [
    "Choice",
    "Chooser",
    "LLMChooser",
    "Local",
    "Remote",
    "Saga",
    "SagaFailure",
    "SagaOutcome",
    "SagaState",
    "Step",
]
