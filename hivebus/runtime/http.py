"""The worker's HTTP port: `/metrics` (Prometheus), `/healthz` (alive) and `/readyz` (ready).

- `/healthz` is 200 while every agent's consumer thread runs, else 503: a container probe
  restarts a worker whose agent stopped consuming (the worker also exits by itself).
- `/readyz` is 200 once every agent has joined its group and the broker and the registry
  answer, else 503; the body says which check failed, as JSON.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import make_wsgi_app

Checks = Callable[[], dict[str, bool]]


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # probes every few seconds
        pass


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def serve(port: int, *, live: Checks, ready: Checks, host: str = "0.0.0.0") -> WSGIServer:
    """Serve on `port` from a daemon thread; returns the server (`shutdown()` stops it)."""
    metrics_app = make_wsgi_app()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path in ("/healthz", "/readyz"):
            checks = (live if path == "/healthz" else ready)()
            ok = all(checks.values())
            body = json.dumps({"ok": ok, "checks": checks}).encode()
            start_response(
                "200 OK" if ok else "503 Service Unavailable",
                [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
            )
            return [body]
        return metrics_app(environ, start_response)  # type: ignore[no-any-return]

    server = make_server(host, port, app, server_class=_ThreadingServer, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, name="hivebus-http", daemon=True).start()
    return server
