"""An order saga: place the order, take the payment, book the shipment; undo on failure.

Orders (`ShopOrder`) arrive on `shop.orders`, keyed by order id. The coordinator
(`shop-saga`, a durable exactly-once agent) places the order (a local step), asks the
payments agent to charge it and the shipping agent to book it (calls). When a step fails
(the payment declined, the carrier refusing the parcel: set `fail_at` to inject either),
the finished steps are undone last first: the shipment cancelled, the payment refunded *or*
turned into store credit, the order cancelled. Which of refund and store credit an LLM
chooses from the failure (`LLMChooser`, journaled, checked against the two allowed; offline
without `HIVEBUS_LLM_*`). Each order ends with one `SagaOutcome` on `shop.outcomes`, also
when the coordinator's worker is killed mid-compensation.

    hivebus run agents/shop_saga.py

The payments and shipping agents here keep their ledgers in memory, keyed by each request's
idempotency key, so a request asked twice is applied once; real ones would use a database.
"""

from __future__ import annotations

from dataclasses import dataclass

from hivebus import Agent, Callee, Context
from hivebus.patterns.saga import LLMChooser, Local, Remote, Saga, SagaState, Step

from .shop_contracts import (
    PaymentRequest,
    PaymentResult,
    ShipmentRequest,
    ShipmentResult,
    ShopOrder,
)

PREFERENCE = (
    "An order could not be completed. For its payment choose `refund` (money back to the "
    "card) or `store_credit` (a voucher for the amount). Prefer store credit only for loyal "
    "customers whose order failed for a reason that was not theirs; refund everyone else."
)
ORDERS: dict[str, str] = {}  # the coordinator's order book: order id -> placed / cancelled
CREDITS: dict[str, float] = {}  # store credit issued, by idempotency key


def place(state: SagaState[ShopOrder]) -> str:
    ORDERS[state.input.id] = "placed"
    return f"order {state.input.id} placed"


def cancel(state: SagaState[ShopOrder]) -> str:
    ORDERS[state.input.id] = "cancelled"
    return f"order {state.input.id} cancelled"


def store_credit(state: SagaState[ShopOrder]) -> str:
    CREDITS.setdefault(state.idempotency_key("undo"), state.input.amount)
    return f"{state.input.amount:.2f} {state.input.currency} of store credit"


def payment(order: ShopOrder, kind: str, key: str) -> PaymentRequest:
    fail = kind == "charge" and order.fail_at == "payment"  # the injected failure
    return PaymentRequest(order_id=order.id, kind=kind, amount=order.amount,
                          currency=order.currency, idempotency_key=key, fail=fail)  # fmt: skip


def shipment(order: ShopOrder, kind: str, key: str) -> ShipmentRequest:
    fail = kind == "book" and order.fail_at == "shipping"  # the injected failure
    return ShipmentRequest(order_id=order.id, kind=kind, item=order.item, address=order.address,
                           idempotency_key=key, fail=fail)  # fmt: skip


def refused(result: PaymentResult | ShipmentResult) -> str | None:
    return None if result.ok else result.reason or f"{result.kind} refused"


@dataclass(frozen=True)
class Shop:
    """The shop's three agents."""

    coordinator: Agent
    payments: Agent
    shipping: Agent


def shop(prefix: str = "shop", *, timeout_s: float = 30.0) -> Shop:
    """The shop on topics `<prefix>.orders`, `<prefix>.outcomes`, `<prefix>.payments.*` and
    `<prefix>.shipments.*`."""
    payments = Callee(f"{prefix}.payments.requested", reply_topic=f"{prefix}.payments.results",
                      returns=PaymentResult)  # fmt: skip
    carrier = Callee(f"{prefix}.shipments.requested", reply_topic=f"{prefix}.shipments.results",
                     returns=ShipmentResult)  # fmt: skip

    def pay(kind: str, phase: str) -> Remote:
        return Remote(payments, lambda s: payment(s.input, kind, s.idempotency_key(phase)),
                      failed=refused, timeout_s=timeout_s)  # fmt: skip

    def ship(kind: str, phase: str) -> Remote:
        return Remote(carrier, lambda s: shipment(s.input, kind, s.idempotency_key(phase)),
                      failed=refused, timeout_s=timeout_s)  # fmt: skip

    saga: Saga[ShopOrder] = Saga(
        f"{prefix}-saga",
        [
            Step("order", Local(place), compensate=Local(cancel)),
            Step("payment", pay("charge", "do"),
                 compensate={"refund": pay("refund", "undo"), "store_credit": Local(store_credit)}),
            Step("shipping", ship("book", "do"), compensate=ship("cancel", "undo")),
        ],
        chooser=LLMChooser(PREFERENCE),
    )  # fmt: skip
    coordinator = saga.coordinator(f"{prefix}.orders", ShopOrder, outcomes=f"{prefix}.outcomes",
                                   name=f"{prefix}-saga", partitions=3)  # fmt: skip
    return Shop(coordinator, payments_agent(prefix, payments), shipping_agent(prefix, carrier))


def payments_agent(prefix: str, payments: Callee) -> Agent:
    agent = Agent(f"{prefix}-payments", description="Charges and refunds orders, once per key")
    ledger: dict[str, PaymentResult] = {}

    @agent.on(payments.topic, PaymentRequest, output=payments.reply_topic)
    async def handle(request: PaymentRequest, ctx: Context) -> PaymentResult:
        if request.idempotency_key not in ledger:  # asked before: the same answer again
            ok = not request.fail
            ledger[request.idempotency_key] = PaymentResult(
                order_id=request.order_id, kind=request.kind, ok=ok,
                reason="" if ok else "card declined by the issuer",
                payment_id=f"pay-{request.idempotency_key}" if ok else "",
            )  # fmt: skip
        return ledger[request.idempotency_key]

    return agent


def shipping_agent(prefix: str, carrier: Callee) -> Agent:
    agent = Agent(f"{prefix}-shipping", description="Books and cancels shipments, once per key")
    booked: dict[str, ShipmentResult] = {}

    @agent.on(carrier.topic, ShipmentRequest, output=carrier.reply_topic)
    async def handle(request: ShipmentRequest, ctx: Context) -> ShipmentResult:
        if request.idempotency_key not in booked:
            ok = not request.fail
            booked[request.idempotency_key] = ShipmentResult(
                order_id=request.order_id, kind=request.kind, ok=ok,
                reason="" if ok else f"the carrier cannot deliver to {request.address!r}",
                tracking=f"trk-{request.order_id}" if ok and request.kind == "book" else "",
            )  # fmt: skip
        return booked[request.idempotency_key]

    return agent


_shop = shop()
coordinator, payments, shipping = _shop.coordinator, _shop.payments, _shop.shipping
