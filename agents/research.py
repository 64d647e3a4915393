"""Lead scouting: a durable agent of 14 steps that researches the web for sales leads.

For each `LeadRequest` it plans search queries with an LLM, runs three searches and scrapes
five pages (tools, each a step), extracts the companies with the LLM, ranks them and writes a
report, waits for a human to approve it (`hivebus runs signal lead-scout RUN approval --json
'{"by": "ada"}'`), and publishes the approved `LeadReport`. Every step is journaled: a worker
killed at step 11 resumes at step 11, and the LLM calls and page fetches that had finished
are not made again. `hivebus dev demo research` shows exactly that.

The web it searches is `RESEARCH_WEB_URL` (`GET /search?q=` answering `[{"title", "url"}]`,
and the pages themselves); the LLM is whatever `HIVEBUS_LLM_*` names (offline without a key).
"""

from __future__ import annotations

import html
import os
import re
from datetime import timedelta

import httpx

from hivebus import Agent, DurableContext, WaitTimedOut

from .contracts import Lead, LeadReport, LeadRequest

scout = Agent(
    "lead-scout",
    version="1.0",
    description="Researches sales leads on the web with an LLM; a human approves each report",
    durable=True,
    guarantee="exactly_once",
    max_in_flight=16,
)
WEB = os.environ.get("RESEARCH_WEB_URL", "http://127.0.0.1:18090")
QUERIES, PAGES = 3, 5
APPROVAL_TIMEOUT = timedelta(days=3)
_LEAD = re.compile(r"^\s*[-*\d.)]*\s*(?P<company>[^|]+?)\s*\|\s*(?P<url>\S+)\s*\|\s*(?P<why>.+)$")


async def search(query: str) -> list[dict[str, str]]:
    """A web search: the hits' titles and URLs."""
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.get(f"{WEB}/search", params={"q": query})
        response.raise_for_status()
        hits: list[dict[str, str]] = response.json()
        return hits


async def scrape(url: str) -> dict[str, str]:
    """A page's visible text (tags stripped), cut to what an LLM prompt can take."""
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.get(url)
        response.raise_for_status()
    text = html.unescape(re.sub(r"<[^>]+>", " ", response.text))
    return {"url": url, "text": " ".join(text.split())[:4000]}


@scout.on("leads.requested", LeadRequest, output="leads.reports")
async def research(request: LeadRequest, ctx: DurableContext) -> LeadReport:
    brief = f"{request.topic} in {request.market}"
    plan = await ctx.step(  # step 1
        "plan",
        ctx.llm.complete,
        f"We look for companies that could buy {brief}. Write {QUERIES} web search queries "
        "that would find them, one per line, nothing else.",
    )
    queries = _lines(plan.text, QUERIES, fallback=f"{request.topic} {request.market}")
    hits: list[dict[str, str]] = []
    for n, query in enumerate(queries, start=1):  # steps 2-4
        hits += await ctx.step(f"search {n}", search, query)
    urls = list(dict.fromkeys(hit["url"] for hit in hits))[:PAGES]
    pages = [await ctx.step(f"scrape {n}", scrape, url) for n, url in enumerate(urls, 1)]  # 5-9
    sources = "\n\n".join(f"[{page['url']}]\n{page['text']}" for page in pages)
    extracted = await ctx.step(  # step 10
        "extract",
        ctx.llm.complete,
        f"From these pages, list every company that could buy {brief}, one per line as "
        f"`company | url | why, in one sentence`:\n\n{sources}",
    )
    ranked = await ctx.step(  # step 11
        "rank",
        ctx.llm.complete,
        f"Rank these leads for {brief}, best first, keeping the same line format:\n"
        f"{extracted.text}",
    )
    leads = _leads(ranked.text) or _leads(extracted.text)
    summary = await ctx.step(  # step 12
        "summarize",
        ctx.llm.complete,
        f"Write a three-sentence summary for a sales team of these leads for {brief}:\n"
        + "\n".join(f"{lead.company}: {lead.why}" for lead in leads),
    )
    try:  # step 13: a human reads the draft; nothing is held while they do
        approval = await ctx.wait_for("approval", timeout_s=APPROVAL_TIMEOUT.total_seconds())
        approved_by = str(approval.get("by", "someone")) if isinstance(approval, dict) else "yes"
    except WaitTimedOut:
        approved_by = "nobody (timed out)"
    report = LeadReport(
        request_id=request.id, topic=request.topic, leads=leads,
        summary=summary.text.strip(), approved_by=approved_by, model=summary.model,
    )  # fmt: skip
    return await ctx.step("publish", _final, report, returns=LeadReport)  # step 14


def _final(report: LeadReport) -> LeadReport:
    """The report as published (a step, so the run's last act is on record)."""
    return report


def _lines(text: str, count: int, fallback: str) -> list[str]:
    found = [line.strip(" -*\t0123456789.)\"'") for line in text.splitlines()]
    found = [line for line in found if line][:count]
    return found + [f"{fallback} {n}" for n in range(len(found) + 1, count + 1)]


def _leads(text: str) -> list[Lead]:
    found = (_LEAD.match(line) for line in text.splitlines())
    return [
        Lead(company=m["company"].strip("`* "), url=m["url"].strip("`"), why=m["why"].strip("`"))
        for m in found
        if m is not None
    ]
