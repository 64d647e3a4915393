"""The saga of the saga tests: reserve, charge, audit, pack, ship. The step the input's
payload names fails (`charge` through the bank's reply); the payload also steers the chooser
("credit": store credit instead of a refund, "greedy": an option no step allows).

Every real execution of an action, a compensation or the chooser is logged to the log file
as "<saga id> <what> [<idempotency key>]". With SAGA_AGENT set, the module is the coordinator
process the kill test runs: SAGA_SOURCE in, SAGA_OUTCOMES out, SAGA_LOG, CHARGE_TOPIC /
CHARGED_TOPIC, REFUND_TOPIC / REFUNDED_TOPIC.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hivebus import Callee, Context, Retry
from hivebus.patterns.saga import Choice, Local, Remote, Saga, SagaFailure, SagaState, Step

from .contracts import Ping, Pong

FAILED = "failed: "


def failure_of(reply: Pong) -> str | None:
    """A bank reply's failure, or None when it says it was done."""
    return reply.handled_by[len(FAILED) :] if reply.handled_by.startswith(FAILED) else None


def build(
    name: str, charges: Callee, refunds: Callee, log: Path, charge_timeout_s: float = 60
) -> Saga[Ping]:
    def write(line: str) -> None:
        with log.open("a") as out:
            out.write(line + "\n")

    def local(what: str) -> Local:
        def act(state: SagaState[Ping]) -> str:
            write(f"{state.saga_id} {what} {state.idempotency_key(what.split()[0])}")
            if what == f"do {state.input.payload.split('+')[0]}":
                raise RuntimeError(f"{state.step} failed, as the test asked")
            return what

        return Local(act)

    def ask(phase: str) -> Any:
        def request(state: SagaState[Ping]) -> Ping:
            return Ping(id=state.idempotency_key(phase), key=state.saga_id, seq=0,
                        payload=state.input.payload)  # fmt: skip

        return request

    async def choose(failure: SagaFailure, ctx: Context) -> Choice:
        write(f"{failure.saga_id} choose")
        if "greedy" in failure.input:
            return Choice(plan={"charge": "cash"}, reason="not an option")
        option = "credit" if "credit" in failure.input else "refund"
        return Choice(plan={"charge": option}, reason=f"the input asks for {option}")

    steps = [
        Step("reserve", local("do reserve"), compensate=local("undo reserve")),
        Step("charge", Remote(charges, ask("do"), failed=failure_of, timeout_s=charge_timeout_s),
             compensate={"refund": Remote(refunds, ask("undo"), failed=failure_of, timeout_s=60),
                         "credit": local("undo charge credit")}),
        Step("audit", local("do audit")),  # nothing to undo
        Step("pack", local("do pack"), compensate=local("undo pack")),
        Step("ship", local("do ship"), compensate=local("undo ship")),
    ]  # fmt: skip
    return Saga(name, steps, chooser=choose,
                compensation_retry=Retry(attempts=2, backoff_s=0.2))  # fmt: skip


if "SAGA_AGENT" in os.environ:
    saga = build(
        os.environ["SAGA_AGENT"],
        Callee(os.environ["CHARGE_TOPIC"], reply_topic=os.environ["CHARGED_TOPIC"], returns=Pong),
        Callee(os.environ["REFUND_TOPIC"], reply_topic=os.environ["REFUNDED_TOPIC"], returns=Pong),
        Path(os.environ["SAGA_LOG"]),
    )
    coordinator = saga.coordinator(
        os.environ["SAGA_SOURCE"], Ping, outcomes=os.environ["SAGA_OUTCOMES"],
        name=os.environ["SAGA_AGENT"],
    )  # fmt: skip
