"""Children a run leaves behind: when a run ends (completed, failed for good, or cancelled)
while a gather or collect of its calls to a durable agent is still open, the runs answering
those calls are cancelled, and the parent's journal records which.

A call to a `Callee(..., agent=...)` is answered by a run of that agent whose id is the call
id (`call:<agent>:<position>:<run id>`), so the parent's journal alone says which children
are open: a call step sent at position p, with no gather or collect outcome recorded after it
(an outcome ends its own block of positions, see gather.py) and no reply kept for it.

The cancels are sent, acknowledged, before the end is written, and the step that names them
(`hivebus:cancel-children`) is written with the end in one journal record. So a run whose
journal says it ended has cancelled its children (a restart never forgets them), and one
that records the step is never asked to cancel them again; only a crash between the
acknowledgement and the write sends them twice, as with a call's request, and a cancel is
idempotent. (A gather that broke off while sending, its failure caught by the handler, is
taken as ended by the outcome of a later gather.)
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Mapping, Sequence
from typing import Any, Protocol

from hivebus.durable import codec
from hivebus.durable.calls import Callee, call_id, replies_to
from hivebus.durable.collect import OUTCOME as COLLECTED
from hivebus.durable.control import cancel_all
from hivebus.durable.gather import OUTCOME as GATHERED
from hivebus.durable.records import JournalStep, RunJournal
from hivebus.durable.run import stamp

STEP = "hivebus:cancel-children"
_CALL = "hivebus:call:"
OK = "ok"


class Send(Protocol):
    def __call__(self, agent: str, run_ids: list[str], *, source: str) -> Awaitable[None]: ...


def child_agents(callees: Sequence[Any]) -> dict[str, str]:
    """Request topic -> the durable agent whose runs answer it, for the callees naming one."""
    return {c.topic: c.agent for c in callees if isinstance(c, Callee) and c.agent is not None}


def open_children(journal: RunJournal, agents: Mapping[str, str]) -> dict[str, list[str]]:
    """Agent -> the run ids of the children the run still waits on, in call order."""
    pending: list[tuple[int, str]] = []
    for step in sorted(journal.steps, key=lambda s: s.seq):
        if step.name in (GATHERED, COLLECTED):
            pending.clear()  # its block ended: every call sent before it is settled
        elif step.name.startswith(_CALL) and step.outcome == OK:
            agent = agents.get(step.name[len(_CALL) :])
            if agent is not None and not replies_to(journal.signals, step.seq):
                pending.append((step.seq, agent))
    found: dict[str, list[str]] = {}
    for position, agent in pending:
        found.setdefault(agent, []).append(call_id(journal.agent, journal.run_id, position))
    return found


class Children:
    """The children of one durable agent's runs, cancelled when a run ends before them."""

    def __init__(self, agent: str, callees: Sequence[Any], *, send: Send = cancel_all) -> None:
        self.agent = agent
        self._agents = child_agents(callees)
        self._send = send

    async def cancel_open(self, journal: RunJournal, position: int = 0) -> dict[str, list[str]]:
        """Before the run's end is written: cancel the children it still waits on, and add
        the step naming them to its journal (at `position`, past its last step), to be
        written with the end. Nothing when none is open, or the step is there already."""
        if not self._agents or any(step.name == STEP for step in journal.steps):
            return {}
        children = open_children(journal, self._agents)
        if not children:
            return {}
        started, clock = stamp(), time.perf_counter()
        for agent, run_ids in children.items():
            await self._send(agent, run_ids, source=self.agent)
        kind, data = codec.encode(children)
        seq = max([position, *(step.seq + 1 for step in journal.steps)])
        journal.steps.append(JournalStep(
            seq=seq, name=STEP, outcome=OK, codec=kind, value=data, started_at=started,
            duration_ms=1000 * (time.perf_counter() - clock),
        ))  # fmt: skip
        return children


def recorded(journal: RunJournal) -> dict[str, list[str]]:
    """The children a run cancelled when it ended, as its journal says."""
    for step in journal.steps:
        if step.name == STEP:
            found: dict[str, list[str]] = json.loads(step.value or b"{}")
            return found
    return {}
