"""Compliance: decides what to do about each flagged transaction, with an LLM's rationale.

It subscribes to `transactions.flagged` and knows nothing of the fraud detector. Without an
API key the LLM is the offline provider, so the example runs anywhere.
"""

from __future__ import annotations

from hivebus import Agent, Audit, Context, Tracing

from .contracts import ComplianceDecision, FlaggedTransaction

compliance = Agent(
    "compliance-officer",
    version="1.0",
    description="Decides clear/report/block for flagged transactions, with a written rationale",
    max_in_flight=64,
    # The black box (`hivebus history trace <correlation>`), and OpenTelemetry spans (exported
    # over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set), one trace across both agents.
    middleware=[Audit(payloads=True), Tracing()],
)


def decide(risk: float) -> str:
    """Policy: block the near-certain, report the likely, clear the rest (with a rationale)."""
    if risk >= 0.95:
        return "block"
    if risk >= 0.8:
        return "report"
    return "clear"


@compliance.on("transactions.flagged", FlaggedTransaction, output="compliance.decisions")
async def review(flag: FlaggedTransaction, ctx: Context) -> ComplianceDecision:
    decision = decide(flag.risk)
    prompt = (
        f"A {flag.channel} payment of {flag.amount:,.2f} {flag.currency} from account "
        f"{flag.account} was flagged with risk {flag.risk:.2f} because: "
        f"{'; '.join(flag.reasons)}. The decision is to {decision} it. "
        "Write a one-sentence rationale for the compliance file."
    )
    reply = await ctx.step("rationale", ctx.llm.complete, prompt)
    return ComplianceDecision(
        tx_id=flag.tx_id,
        account=flag.account,
        decision=decision,
        risk=flag.risk,
        rationale=reply.text.strip(),
        model=reply.model,
    )
