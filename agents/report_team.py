"""Hierarchical report writing: an editor spawns a writer per section, and each writer
spawns a researcher per point, all as child runs of one pooled agent.

- `report-editor` (durable) takes a `ReportRequest` from `reports.requested`, spawns one
  child per section (depth 1), waits at most 120 s, and publishes the `Report` to
  `reports.written` with the sections that did not come listed as missing.
- `writers.child` is the team's pooled agent. A section writer asks the LLM for three
  points, spawns a researcher for each (depth 2), and writes the section from their notes.
  A researcher asks the LLM for a note. The team allows depth 2 and 8 children per spawn.
  A child that tried to go deeper would fail with an error naming the bound.

Without `HIVEBUS_LLM_*` the offline model writes (deterministic, marked "[offline]").
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from hivebus import Agent, DurableContext
from hivebus.patterns import ChildTask, Team

from .report_contracts import Report, ReportRequest

team = Team("writers", max_depth=2, max_children=8)
children = team.children
editor = Agent("report-editor", version="1.0", durable=True, calls=team.calls,
               description="Splits a report into sections written by child runs")  # fmt: skip


class Points(BaseModel):
    points: list[str] = Field(min_length=3, max_length=3)


async def _points(ctx: DurableContext, prompt: str) -> Points:
    return await ctx.llm.complete_json(prompt, schema=Points)


@team.child
async def write(task: ChildTask, ctx: DurableContext) -> dict[str, object]:
    job = task.arguments()
    if task.depth == 2:  # a researcher: one note on one point
        prompt = f"One factual sentence on: {job['point']} ({job['subject']})"
        note = await ctx.step("note", ctx.llm.complete, prompt)
        return {"point": job["point"], "note": note.text, "children": 0}
    ask = f"Three points for the section '{job['section']}' of a report on {job['subject']}"
    plan = await ctx.step("points", _points, ctx, ask, returns=Points)
    notes = await team.spawn(ctx, [{"point": p, "subject": job["subject"]} for p in plan.points],
                             parent=task, role="researcher", timeout_s=60)  # fmt: skip
    found = notes.outputs()
    text = await ctx.step("write", ctx.llm.complete,
                          f"Write the section '{job['section']}' from these notes:\n"
                          + "\n".join(f"- {n['point']}: {n['note']}" for n in found))  # fmt: skip
    return {"section": job["section"], "text": text.text, "children": len(found)}


@editor.on("reports.requested", ReportRequest, output="reports.written")
async def edit(request: ReportRequest, ctx: DurableContext) -> Report:
    jobs = [{"section": s, "subject": request.subject} for s in request.sections]
    written = await team.spawn(ctx, jobs, role="section writer", timeout_s=120)
    sections = written.outputs()
    body = "\n\n".join(f"## {s['section']}\n\n{s['text']}" for s in sections)
    return Report(
        request_id=request.id, subject=request.subject, body=f"# {request.subject}\n\n{body}",
        children=len(sections) + sum(int(s["children"]) for s in sections),
        missing=[request.sections[i] for i in written.missing + written.failed],
    )  # fmt: skip
