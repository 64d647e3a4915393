"""Orchestrator-Worker research: an orchestrator hands searches, scrapes and an extraction to
three worker types and joins their results.

- `research-orchestrator` (durable) takes a `LeadRequest` from `research.requested`, sends
  three search tasks at once and joins them (20 s at most), then scrape tasks for the
  first five pages, joined by a deadline, keeping what came, then one extract task. It
  publishes a `LeadReport` to `research.reports`, and its summary says which tasks were
  missing.
- `searcher`, `scraper` and `extractor` are worker types, each its own consumer group on
  the `research` pool (`research.tasks` and `research.results`, keyed by the request's
  correlation id). Run more replicas of one to share its tasks. A new worker type joins by
  subscribing.

The web is `RESEARCH_WEB_URL` (as for agents/research.py); the extractor asks the LLM named
by `HIVEBUS_LLM_*` (offline without a key).
"""

from __future__ import annotations

import re
from typing import Any

from hivebus import Agent, Context, DurableContext
from hivebus.patterns import Workers

from .contracts import Lead, LeadReport, LeadRequest
from .research import scrape, search

pool = Workers("research")
QUERIES = ("brewery dairy", "paper mill chemicals", "hotel spa")
PAGES = 5
_LEAD = re.compile(r"^\s*(?P<company>[^|]+?)\s*\|\s*(?P<url>\S+)\s*\|\s*(?P<why>.+)$")


async def search_task(arguments: Any, ctx: Context) -> list[dict[str, str]]:
    return await search(arguments["query"])


async def scrape_task(arguments: Any, ctx: Context) -> dict[str, str]:
    return await scrape(arguments["url"])


async def extract_task(arguments: Any, ctx: Context) -> str:
    reply = await ctx.llm.complete(
        f"From these pages, list every company that could buy {arguments['brief']}, one per "
        f"line as `company | url | why, in one sentence`:\n\n{arguments['sources']}"
    )
    return reply.text


searcher = pool.worker("searcher", {"search": search_task}, max_in_flight=16)
scraper = pool.worker("scraper", {"scrape": scrape_task}, max_in_flight=16)
extractor = pool.worker("extractor", {"extract": extract_task}, max_in_flight=8)
orchestrator = Agent("research-orchestrator", version="1.0", durable=True, calls=pool.calls,
                     description="Splits lead research into tasks for worker types")  # fmt: skip


@orchestrator.on("research.requested", LeadRequest, output="research.reports")
async def orchestrate(request: LeadRequest, ctx: DurableContext) -> LeadReport:
    brief = f"{request.topic} in {request.market}"
    queries = [f"{q} {request.topic} {request.market}" for q in QUERIES]
    searched = await pool.join(ctx, [pool.task(ctx, "search", {"query": q}) for q in queries],
                               timeout_s=20)  # fmt: skip
    hits = [hit for output in searched.outputs().values() for hit in output]
    urls = list(dict.fromkeys(hit["url"] for hit in hits))[:PAGES]
    scraped = await pool.join(ctx, [pool.task(ctx, "scrape", {"url": u}) for u in urls],
                              timeout_s=20)  # fmt: skip
    pages = list(scraped.outputs().values())
    sources = "\n\n".join(f"[{page['url']}]\n{page['text']}" for page in pages)
    extracted = await pool.join(ctx, [pool.task(ctx, "extract", {"brief": brief,
                                                                 "sources": sources})],
                                timeout_s=60)  # fmt: skip
    text = next(iter(extracted.outputs().values()), "")
    leads = [Lead(company=m["company"].strip("`* "), url=m["url"].strip("`"),
                  why=m["why"].strip("`"))
             for m in map(_LEAD.match, text.splitlines()) if m is not None]  # fmt: skip
    missing = [t.kind for j in (searched, scraped, extracted) for t in
               (j.tasks[i] for i in j.missing + j.failed)]  # fmt: skip
    summary = (f"{len(leads)} leads from {len(pages)} pages found by {len(hits)} search hits; "
               f"tasks missing: {', '.join(missing) or 'none'}")  # fmt: skip
    return LeadReport(request_id=request.id, topic=request.topic, leads=leads, summary=summary,
                      approved_by="not asked (orchestrated)", model="workers")  # fmt: skip
