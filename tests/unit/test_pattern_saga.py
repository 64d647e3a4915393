"""The saga's pure parts: which steps are undone and in what order, how a chooser's answer
is settled against the declared options, the LLM chooser's schema, and its configuration."""

from __future__ import annotations

from typing import Any

import pytest

from hivebus import Callee, ConfigError, Retry
from hivebus.contracts.record import check_drift
from hivebus.llm import LLM, LLMSettings, OfflineProvider
from hivebus.patterns.saga import LLMChooser, Local, Remote, Saga, SagaFailure, SagaState, Step
from hivebus.patterns.saga.chooser import choice_schema
from hivebus.patterns.saga.plan import CHOOSER, FALLBACK, declared, needs_choice, settle, to_undo
from hivebus.patterns.saga.records import SagaOutcome


def _noop(state: SagaState[Any]) -> None:
    return None


NOOP = Local(_noop)


def _request(state: SagaState[Any]) -> SagaOutcome:  # any contract serves as a request here
    return SagaOutcome(saga_id=state.idempotency_key("undo"), saga="bank", status="asked")


BANK = Callee("bank.requests", reply_topic="bank.replies", returns=SagaOutcome)
REFUND = Remote(BANK, _request)
STEPS = [
    Step("order", NOOP, compensate=NOOP),
    Step("audit", NOOP),  # nothing to undo
    Step("payment", NOOP, compensate={"refund": REFUND, "store_credit": NOOP}),
    Step("shipping", NOOP, compensate=NOOP),
]


@pytest.mark.parametrize(
    ("finished", "undone"),
    [
        ([], []),
        (["order"], ["order"]),
        (["order", "audit"], ["order"]),
        (["order", "audit", "payment"], ["payment", "order"]),
        (["order", "audit", "payment", "shipping"], ["shipping", "payment", "order"]),
    ],
)
def test_exactly_the_finished_steps_with_a_compensation_are_undone_last_first(
    finished: list[str], undone: list[str]
) -> None:
    assert [step.name for step in to_undo(STEPS, finished)] == undone


def test_the_declared_option_is_the_first_and_only_a_real_choice_asks_the_chooser() -> None:
    undo = to_undo(STEPS, ["order", "payment"])
    assert declared(undo) == {"payment": "refund", "order": "undo"}
    assert needs_choice(undo) and not needs_choice(to_undo(STEPS, ["order", "shipping"]))


def test_an_allowed_choice_is_taken_with_its_reason() -> None:
    plan = settle(to_undo(STEPS, ["order", "payment"]), {"payment": "store_credit"}, "loyal")
    assert (plan.options, plan.chosen_by, plan.note) == (
        {"payment": "store_credit", "order": "undo"}, CHOOSER, "loyal",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ({"payment": "wire_transfer"}, "'wire_transfer' is not one of refund/store_credit"),
        ({}, "payment: None is not one of"),
        ({"payment": 3}, "payment: 3 is not one of"),
        ({"payment": "refund", "shipping": "undo"}, "shipping: not a step to undo"),
    ],
)
def test_an_answer_outside_the_declared_options_falls_back_to_the_declared_one(
    answer: dict[str, object], why: str
) -> None:
    plan = settle(to_undo(STEPS, ["order", "payment"]), answer, "whatever")
    assert plan.options == {"payment": "refund", "order": "undo"}
    assert plan.chosen_by == FALLBACK and why in plan.note


def test_the_llm_schema_allows_only_each_steps_own_options() -> None:
    schema = choice_schema({"payment": ["refund", "store_credit"], "order": ["cancel", "hold"]})
    plan = schema.model_json_schema()["$defs"]["CompensationPlan"]["properties"]
    assert plan["payment"]["enum"] == ["refund", "store_credit"]
    assert plan["order"]["enum"] == ["cancel", "hold"]
    with pytest.raises(ValueError, match="payment"):
        schema.model_validate({"plan": {"payment": "cash", "order": "hold"}, "reason": "r"})


class _WithLLM:
    """What LLMChooser uses of a Context: its `llm`."""

    def __init__(self) -> None:
        settings = LLMSettings.from_env()
        self.llm = LLM(OfflineProvider(), model=settings.model, meter=None)


async def test_the_offline_llm_chooser_answers_an_allowed_plan_the_same_every_time() -> None:
    failure = SagaFailure(
        saga_id="o-1", saga="shop", failed_step="shipping", failure="address undeliverable",
        finished=["order", "payment"], options={"payment": ["refund", "store_credit"],
                                                "order": ["undo"]},
    )  # fmt: skip
    chooser = LLMChooser()
    first = await chooser(failure, _WithLLM())  # type: ignore[arg-type]
    again = await chooser(failure, _WithLLM())  # type: ignore[arg-type]
    assert set(first.plan) == {"payment"} and first.plan["payment"] in ("refund", "store_credit")
    assert first == again and first.reason
    assert settle(to_undo(STEPS, ["order", "payment"]), first.plan).chosen_by == CHOOSER


SHOP: Saga[SagaOutcome] = Saga("shop", STEPS)


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: Saga("s", []), "Saga.steps"),
        (lambda: Saga("", [Step("a", NOOP)]), "Saga.name"),
        (lambda: Saga("s", [Step("a", NOOP), Step("a", NOOP)]), "Saga.steps"),
        (lambda: Saga("s", [Step("a", NOOP)], chooser="llm"), "Saga.chooser"),  # type: ignore[arg-type]
        (lambda: Step("Bad Name", NOOP), "Step.name"),
        (lambda: Step("a", _noop), "Step.action"),  # type: ignore[arg-type]
        (lambda: Step("a", NOOP, compensate={}), "Step.compensate"),
        (lambda: Step("a", NOOP, compensate={"Refund!": NOOP}), "Step.compensate"),
        (lambda: Step("a", NOOP, compensate={"x": "nope"}), "Step.compensate"),  # type: ignore[dict-item]
        (lambda: Remote(BANK, _request, timeout_s=0), "Remote.timeout_s"),
        (lambda: Remote("bank", _request), "Remote.callee"),  # type: ignore[arg-type]
        (lambda: Local("not callable"), "Local.fn"),  # type: ignore[arg-type]
        (lambda: SHOP.coordinator("in", SagaOutcome, partitions=0), "partitions"),
    ],
)  # fmt: skip
def test_bad_saga_declarations_are_refused_naming_the_field(build: Any, field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        build()


def test_a_coordinator_is_durable_exactly_once_and_calls_each_callee_once() -> None:
    saga: Saga[SagaOutcome] = Saga("shop", [*STEPS, Step("bill", REFUND, compensate=REFUND)])
    coordinator = saga.coordinator(
        "shop.orders", SagaOutcome, partitions=2, retry=Retry(attempts=2)
    )
    assert coordinator.name == "shop.coordinator" and coordinator.durable
    assert coordinator.guarantee == "exactly_once" and coordinator.calls == [BANK]
    assert coordinator.subscriptions == ["shop.orders"]
    assert {spec.name: spec.partitions for spec in coordinator.topics} == {
        "shop.orders": 2, "shop.outcomes": 2, "bank.requests": 2, "bank.replies": 2,
    }  # fmt: skip


def test_an_outcome_is_its_avro_contract() -> None:
    assert check_drift(SagaOutcome) == []


def test_an_idempotency_key_names_the_saga_the_step_and_the_phase() -> None:
    state = SagaState("o-7", None, {}, "payment")
    assert (state.idempotency_key(), state.idempotency_key("undo")) == (
        "o-7/payment/do", "o-7/payment/undo",
    )  # fmt: skip
