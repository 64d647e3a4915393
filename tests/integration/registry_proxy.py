"""An HTTPS front for the real schema registry that demands basic credentials.

Apicurio (the local stack's registry) authenticates through OIDC only, so to prove that
hivebus's registry clients send credentials and trust a private CA, this proxy terminates
TLS with the secure stack's certificate, answers 401 to any request without the expected
`Authorization: Basic` header, and forwards the rest to the registry unchanged.
"""

from __future__ import annotations

import base64
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import httpx


@dataclass
class Tally:
    """What the proxy saw: requests let through, and requests refused."""

    authorized: int = 0
    refused: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True)
class RunningProxy:
    url: str  # the registry URL clients use, through the proxy
    tally: Tally


@contextmanager
def registry_proxy(
    upstream_url: str, user_info: str, cert: Path, key: Path
) -> Iterator[RunningProxy]:
    """Serve `upstream_url` (a ccompat API root) over HTTPS on a free port, for `user_info`."""
    upstream = urlsplit(upstream_url)
    expected = "Basic " + base64.b64encode(user_info.encode()).decode()
    tally = Tally()
    client = httpx.Client(base_url=f"{upstream.scheme}://{upstream.netloc}", timeout=10)

    class Handler(BaseHTTPRequestHandler):
        def _forward(self) -> None:
            if self.headers.get("Authorization") != expected:
                with tally.lock:
                    tally.refused += 1
                self._answer(401, b'{"error_code": 401, "message": "Unauthorized"}')
                return
            with tally.lock:
                tally.authorized += 1
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() == "content-type"}
            answer = client.request(self.command, self.path, content=body, headers=headers)
            self._answer(answer.status_code, answer.content, answer.headers.get("content-type"))

        def _answer(self, status: int, body: bytes, kind: str | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind or "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = _forward

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: the tally is what the tests read

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, name="registry-proxy", daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        yield RunningProxy(f"https://127.0.0.1:{port}{upstream.path}", tally)
    finally:
        server.shutdown()
        server.server_close()
        client.close()
