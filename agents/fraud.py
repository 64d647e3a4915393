"""Fraud detection: scores every transaction on `transactions.*`, flags the risky ones.

It knows nothing of who reads `transactions.flagged`. It also skips its own output: records
on `transactions.flagged` are FlaggedTransaction events, a type it does not handle.
"""

from __future__ import annotations

from hivebus import Agent, Audit, Context, Tracing

from .contracts import FlaggedTransaction, Transaction

fraud = Agent(
    "fraud-detector",
    version="1.0",
    description="Scores card and wire transactions; flags the risky ones",
    max_in_flight=256,
    # The black box (`hivebus history trace <correlation>`), and OpenTelemetry spans (exported
    # over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set), one trace across both agents.
    middleware=[Audit(payloads=True), Tracing()],
)

HIGH_RISK_COUNTRIES = {"KP", "IR", "SY", "RU", "VE"}
FLAG_AT = 0.7


def score(tx: Transaction) -> tuple[float, list[str]]:
    """A transparent rule-based score in [0, 1] with the reasons behind it."""
    risk, reasons = 0.05, []
    limit = 10_000 if tx.channel == "wire" else 2_000
    if tx.amount >= limit:
        risk += 0.45
        reasons.append(f"{tx.channel} amount {tx.amount:,.2f} {tx.currency} at or over {limit:,}")
    if tx.country in HIGH_RISK_COUNTRIES:
        risk += 0.4
        reasons.append(f"counterparty country {tx.country} is high-risk")
    if tx.channel == "card" and tx.device_id is None and tx.amount >= 500:
        risk += 0.15
        reasons.append("card payment from an unknown device")
    if tx.merchant.lower().startswith(("crypto", "casino")):
        risk += 0.25
        reasons.append(f"merchant category of {tx.merchant!r}")
    return min(risk, 1.0), reasons


@fraud.on("transactions.*", Transaction, output="transactions.flagged")
async def check(tx: Transaction, ctx: Context) -> FlaggedTransaction | None:
    risk, reasons = await ctx.step("score", score, tx)
    if risk < FLAG_AT:
        return None
    return FlaggedTransaction(
        tx_id=tx.id,
        account=tx.account,
        amount=tx.amount,
        currency=tx.currency,
        channel=tx.channel,
        risk=round(risk, 3),
        reasons=reasons,
    )
