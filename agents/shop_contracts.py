"""The Python faces of the shop saga's contracts (schemas/shop/*.avsc rule the wire)."""

from __future__ import annotations

from pathlib import Path

from hivebus import Record

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas" / "shop"


class ShopOrder(Record, avsc=SCHEMAS / "ShopOrder.avsc"):
    id: str
    customer: str
    item: str
    amount: float
    currency: str = "EUR"
    address: str
    loyal: bool = False
    fail_at: str = ""


class PaymentRequest(Record, avsc=SCHEMAS / "PaymentRequest.avsc"):
    order_id: str
    kind: str
    amount: float
    currency: str
    idempotency_key: str
    fail: bool = False


class PaymentResult(Record, avsc=SCHEMAS / "PaymentResult.avsc"):
    order_id: str
    kind: str
    ok: bool
    reason: str = ""
    payment_id: str = ""


class ShipmentRequest(Record, avsc=SCHEMAS / "ShipmentRequest.avsc"):
    order_id: str
    kind: str
    item: str
    address: str
    idempotency_key: str
    fail: bool = False


class ShipmentResult(Record, avsc=SCHEMAS / "ShipmentResult.avsc"):
    order_id: str
    kind: str
    ok: bool
    reason: str = ""
    tracking: str = ""
