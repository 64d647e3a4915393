"""The world the research demo's agent works in: a small web and a chat model, on 127.0.0.1.

One HTTP server, in a thread of the demo process, answers `GET /search?q=` with hits from a
catalogue of made-up companies, `GET /pages/<slug>` with their pages, and `POST
/v1/chat/completions` (the OpenAI shape) as a scripted model that takes `llm_latency_s` per
answer, like a real one, and reads what the agent's prompts ask for. It counts every request,
so the demo can show which tool calls and LLM calls were made, and how often.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

MODEL = "scripted-scout"
COMPANIES = {
    "nordwerk": ("Nordwerk Brauerei", "a brewery in Bremen replacing two gas boilers by 2027"),
    "kaltfeld": ("Kaltfeld Molkerei", "a dairy in Bavaria whose pasteurisers need 90 °C heat"),
    "rheinpapier": ("Rheinpapier AG", "a paper mill on the Rhine that publishes a net-zero plan"),
    "haus-am-see": ("Hotel Haus am See", "a lakeside hotel group renovating five sites"),
    "stahlform": ("Stahlform GmbH", "a metal works whose drying ovens run on natural gas"),
    "gruenbad": ("Grünbad Thermen", "a spa operator with large pools to keep warm all year"),
    "backhaus": ("Backhaus Ostmann", "an industrial bakery opening a new plant in Saxony"),
    "chemtal": ("Chemtal Werke", "a chemicals site seeking subsidies for process heat"),
}

SUMMARY = (
    "Several German sites with steady process heat are moving off gas. The strongest leads "
    "burn gas today and have a date to stop. Start with them."
)


class ResearchWorld:
    """The web and the model; `start()`, then point the agent at `web_url` and `llm_url`."""

    def __init__(self, llm_latency_s: float = 1.0) -> None:
        self.llm_latency_s = llm_latency_s
        self.web_calls: Counter[str] = Counter()  # "search <query>" / "page <slug>"
        self.llm_calls: Counter[str] = Counter()  # by what the prompt asked: plan, extract...
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def llm_url(self) -> str:
        return f"{self.web_url}/v1"

    def start(self) -> ResearchWorld:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def count(self, counter: Counter[str], what: str) -> None:
        with self._lock:
            counter[what] += 1

    def search(self, query: str) -> list[dict[str, str]]:
        self.count(self.web_calls, f"search {query}")
        slugs = sorted(
            COMPANIES, key=lambda slug: hashlib.sha256(f"{query}{slug}".encode()).digest()
        )
        return [
            {"title": COMPANIES[slug][0], "url": f"{self.web_url}/pages/{slug}"}
            for slug in slugs[:3]
        ]

    def page(self, slug: str) -> str | None:
        if slug not in COMPANIES:
            return None
        self.count(self.web_calls, f"page {slug}")
        name, about = COMPANIES[slug]
        return (f"<html><head><title>{name}</title></head><body><h1>{name}</h1>"
                f"<p>{name} is {about}.</p></body></html>")  # fmt: skip

    def answer(self, prompt: str) -> str:
        """What the scripted model says to the agent's prompts (see agents/research.py)."""
        time.sleep(self.llm_latency_s)
        if "search queries" in prompt:
            kind = "plan"
            text = "\n".join(
                f"{what} heat pump retrofit Germany"
                for what in ("brewery dairy", "paper mill chemicals", "hotel spa")
            )
        elif "list every company" in prompt:
            kind = "extract"
            found = re.findall(r"^\[(\S+/pages/([\w-]+))\]$", prompt, flags=re.MULTILINE)
            text = "\n".join(f"{COMPANIES[slug][0]} | {url} | {COMPANIES[slug][1]}"
                             for url, slug in found if slug in COMPANIES)  # fmt: skip
        elif prompt.startswith("Rank these leads"):
            kind = "rank"
            rows = [line for line in prompt.splitlines()[1:] if "|" in line]
            text = "\n".join(sorted(rows, key=lambda row: ("gas" not in row, row)))
        else:
            kind = "summarize"
            text = SUMMARY
        self.count(self.llm_calls, kind)
        return text


def _handler(world: ResearchWorld) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            url = urlparse(self.path)
            if url.path == "/search":
                query = parse_qs(url.query).get("q", [""])[0]
                self._send(200, json.dumps(world.search(query)), "application/json")
                return
            page = world.page(url.path.removeprefix("/pages/"))
            if page is None:
                self._send(404, "no such page", "text/plain")
            else:
                self._send(200, page, "text/html")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            users = [m for m in body.get("messages", []) if m.get("role") == "user"]
            prompt = _text(users[-1]["content"]) if users else ""
            text = world.answer(prompt)
            reply = {
                "id": "chatcmpl-demo", "object": "chat.completion", "created": int(time.time()),
                "model": MODEL,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": text}}],
                "usage": {"prompt_tokens": len(prompt.split()),
                          "completion_tokens": len(text.split()),
                          "total_tokens": len(prompt.split()) + len(text.split())},
            }  # fmt: skip
            self._send(200, json.dumps(reply), "application/json")

        def _send(self, status: int, text: str, content_type: str) -> None:
            payload = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            try:
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the worker asking was killed (the demo does that)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the demo prints what matters."""

    return Handler


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
