"""A local OpenAI-compatible chat-completions server for tests: real HTTP on 127.0.0.1.

It records every request it receives and answers from a script of queued responses; with the
script empty it echoes the last user message with fixed token counts, so tests can tell the
server's `usage` from any local estimate.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ECHO_PROMPT_TOKENS = 11
ECHO_COMPLETION_TOKENS = 7


@dataclass(frozen=True)
class Received:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass(frozen=True)
class Scripted:
    """One queued answer: status, JSON body (or raw text) and extra headers."""

    status: int
    body: dict[str, Any] | str
    headers: dict[str, str] = field(default_factory=dict)


def chat_body(
    text: str,
    *,
    model: str = "served-model",
    prompt_tokens: int | None = ECHO_PROMPT_TOKENS,
    completion_tokens: int = ECHO_COMPLETION_TOKENS,
    finish_reason: str = "stop",
) -> dict[str, Any]:
    """A response body in the chat-completions shape; `prompt_tokens=None` leaves usage out."""
    body: dict[str, Any] = {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": finish_reason,
            }
        ],
    }
    if prompt_tokens is not None:
        body["usage"] = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
    return body


def error_body(message: str) -> dict[str, Any]:
    """An error body in the shape OpenAI uses."""
    return {"error": {"message": message, "type": "server_error", "code": None}}


class FakeChatServer:
    """Answers `POST /v1/chat/completions` from a thread; see the module docstring."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.script: deque[Scripted] = deque()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def push(self, status: int, body: dict[str, Any] | str, **headers: str) -> None:
        """Queue the next answer; header names use `_` for `-` (`retry_after_ms=...`)."""
        self.script.append(
            Scripted(status, body, {k.replace("_", "-"): v for k, v in headers.items()})
        )

    def answer(self, received: Received) -> Scripted:
        if self.script:
            return self.script.popleft()
        if received.method != "POST" or received.path != "/v1/chat/completions":
            return Scripted(404, error_body(f"no route {received.method} {received.path}"))
        users = [m for m in received.body.get("messages", []) if m.get("role") == "user"]
        last = users[-1]["content"] if users else ""
        return Scripted(200, chat_body(f"echo: {last}", model=str(received.body.get("model"))))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


@contextmanager
def running_chat_server() -> Iterator[FakeChatServer]:
    server = FakeChatServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _handler_for(server: FakeChatServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self._serve()

        def do_GET(self) -> None:
            self._serve()

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            received = Received(
                method=self.command,
                path=self.path,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=json.loads(raw) if raw else {},
            )
            server.requests.append(received)
            scripted = server.answer(received)
            payload = (
                scripted.body.encode()
                if isinstance(scripted.body, str)
                else json.dumps(scripted.body).encode()
            )
            self.send_response(scripted.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in scripted.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            """Keep test output quiet."""

    return Handler
