"""The dashboard in a real headless browser, on the real broker and registry.

A `hivebus gateway` process serves the page. A durable agent in this test's worker takes a
moment per step. The test opens the page, submits a task over HTTP, and watches the page
show the agent with its instance and the task going through its steps to the end. The
screenshots are kept in `.pytest-artifacts/` at the repository's root (git ignores it).
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import httpx
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient
from playwright.async_api import Page, async_playwright, expect

from hivebus import Agent, Context
from hivebus.contracts import Serde, register
from hivebus.dev import Endpoints
from hivebus.runtime.directory import read_directory
from hivebus.testing.stack import unique_name
from hivebus.testing.worker import running
from tests.integration.browser_support import ensure_chromium
from tests.integration.gateway_support import gateway
from tests.integration.runtime_contracts import Ping, Pong
from tests.integration.runtime_support import topics, until

STEPS = ("gather", "analyse", "draft", "review")
STEP_S = 1.5
ARTIFACTS = Path(__file__).parents[2] / ".pytest-artifacts"
WAIT_MS = 30_000


def slow_agent(name: str, source: str, output: str) -> Agent:
    agent = Agent(name, durable=True, description="four slow steps, for the dashboard test")

    async def slow(label: str) -> str:
        await asyncio.sleep(STEP_S)
        return label

    @agent.on(source, Ping, output=output)
    async def work(ping: Ping, ctx: Context) -> Pong:
        for label in STEPS:
            await ctx.step(label, slow, label)
        return Pong(id=ping.id, key=ping.key, seq=ping.seq, handled_by=ctx.agent)

    return agent


async def record_states(page: Page, task_id: str) -> None:
    """Note each state the task's row in the list shows, as the dashboard stream changes it."""
    await page.evaluate(
        """(id) => {
            window.seenStates = [];
            setInterval(() => {
                const row = document.querySelector(`tr[data-task="${id}"]`);
                const state = row && row.getAttribute("data-state");
                if (state && window.seenStates[window.seenStates.length - 1] !== state) {
                    window.seenStates.push(state);
                }
            }, 50);
        }""",
        task_id,
    )


async def test_the_dashboard_shows_the_agent_and_a_running_task_moving_through_its_steps(
    stack: Endpoints, admin: AdminClient, registry: SchemaRegistryClient, tmp_path: Path
) -> None:
    chromium = ensure_chromium()
    source, output = topics(admin, "dashboard")
    register(registry, Ping.contract(), source)
    name = unique_name("dashboard-agent")
    serde = Serde(registry)
    with gateway(tmp_path, "--keepalive", "1") as served:
        async with running([slow_agent(name, source, output)]) as worker, async_playwright() as p:
            await until(lambda: name in read_directory(serde), 30)
            browser = await p.chromium.launch(executable_path=str(chromium))
            page = await browser.new_page(viewport={"width": 1440, "height": 1000})
            failures: list[str] = []
            page.on("pageerror", lambda error: failures.append(str(error)))
            await page.goto(f"{served.url}/")  # redirected to /dashboard
            assert page.url.endswith("/dashboard")
            await expect(page.locator("#connection")).to_have_text("live", timeout=WAIT_MS)

            # The agent, from the directory, with this worker's instance.
            row = page.locator(f'tr[data-agent="{name}"]')
            await expect(row).to_be_visible(timeout=WAIT_MS)
            await expect(row.locator(f'[data-instance="{worker.instance}"]')).to_be_visible()
            await expect(page.locator(f'tr[data-agent="{name}.runs"]')).to_be_visible()

            async with httpx.AsyncClient(timeout=30) as client:
                body = {"agent": name, "input": {"id": "d1", "key": "k1", "seq": 1}}
                answer = await client.post(f"{served.url}/v1/tasks", json=body)
            assert answer.status_code == 202, answer.text
            task_id = answer.json()["id"]
            await record_states(page, task_id)

            # The task in the list; selected, its steps come from its own event stream.
            listed = page.locator(f'tr[data-task="{task_id}"]')
            await expect(listed).to_be_visible(timeout=WAIT_MS)
            await listed.click()
            panel = page.locator("#task-panel")
            await expect(panel).to_have_attribute("data-task", task_id)
            steps = page.locator('#timeline li[data-event="step"]')
            await expect(steps.nth(1)).to_be_visible(timeout=WAIT_MS)
            await expect(page.locator("#task-state")).to_have_text("working")
            # The agent stays listed live between the directory's readings (no flicker).
            instance = row.locator(f'[data-instance="{worker.instance}"]')
            assert await instance.is_visible(), "the agent's instance left the page mid-run"
            working = tmp_path / "dashboard.png"
            await page.screenshot(path=str(working), full_page=True)

            await expect(page.locator("#task-state")).to_have_text("completed", timeout=WAIT_MS)
            await expect(listed).to_have_attribute("data-state", "completed", timeout=WAIT_MS)
            await expect(listed.locator(".chip")).to_have_count(len(STEPS))
            assert await instance.is_visible(), "the agent's instance left the page"
            completed = tmp_path / "dashboard-completed.png"
            await page.screenshot(path=str(completed), full_page=True)
            timeline = await page.locator("#timeline li .what").all_inner_texts()
            panel_states = (await panel.get_attribute("data-states") or "").split()
            list_states = await page.evaluate("window.seenStates")
            await browser.close()

    assert timeline == ["submitted", *[f"{i + 1}. {s}" for i, s in enumerate(STEPS)], "completed"]
    assert panel_states == ["submitted", "working", "completed"]
    assert list_states[-2:] == ["working", "completed"], list_states  # live, not only the end
    assert not failures, failures
    ARTIFACTS.mkdir(exist_ok=True)
    for shot in (working, completed):
        kept = ARTIFACTS / shot.name
        shutil.copyfile(shot, kept)
        print(f"dashboard screenshot: {kept} (and {shot})")
