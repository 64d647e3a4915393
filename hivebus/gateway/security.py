"""The gateway's security middleware: CORS (off unless origins are named) outside API-key
authentication, so a browser's preflight is answered without a key and a 401 still carries
the CORS headers a page needs to read it.

Settings come from `hivebus gateway --keys/--cors-origin`, else from HIVEBUS_GATEWAY_KEYS
and HIVEBUS_GATEWAY_CORS_ORIGINS (comma-separated). No key file means an open gateway: it
says so in its log at start, and the command line binds it to 127.0.0.1 by default.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from hivebus.envvars import env
from hivebus.errors import ConfigError
from hivebus.gateway.auth import PUBLIC_PATHS, AuthMiddleware, KeyStore

CORS_ENV = "HIVEBUS_GATEWAY_CORS_ORIGINS"
_ORIGIN = re.compile(r"https?://[^/\s?#]+")
log = logging.getLogger("hivebus.gateway")


def security_middleware(
    keys_file: Path | None,
    cors_origins: Sequence[str],
    public_paths: Iterable[str] = PUBLIC_PATHS,
) -> list[Middleware]:
    """CORS (when origins are named), then authentication (open without a key file).
    `public_paths` need no key: exact paths, for pages that carry no data themselves."""
    keys = KeyStore(keys_file) if keys_file is not None else None
    if keys is None:
        log.warning(
            "the gateway is OPEN: no API key file (--keys or HIVEBUS_GATEWAY_KEYS), so anyone "
            "who reaches it may submit to, read and cancel the tasks of every durable agent"
        )
    else:
        log.info("API keys from %s: %d active key(s)", keys.path, keys.active)
    stack = [Middleware(AuthMiddleware, keys=keys, public=frozenset(public_paths))]
    if cors_origins:
        stack.insert(0, _cors(check_origins(cors_origins)))
    return stack


def check_origins(origins: Sequence[str]) -> list[str]:
    """Each origin as browsers send it (`https://app.example.com[:port]`), or `*`."""
    for origin in origins:
        if origin != "*" and not _ORIGIN.fullmatch(origin):
            raise ConfigError(
                f"a CORS origin is 'scheme://host[:port]' with no path (or '*'), got {origin!r}"
            )
    return list(origins)


def cors_origins_from_env() -> tuple[str, ...]:
    raw = env(CORS_ENV) or ""
    return tuple(o.strip() for o in raw.split(",") if o.strip())


def _cors(origins: list[str]) -> Middleware:
    return Middleware(
        CORSMiddleware,
        allow_origins=origins,
        allow_methods=["GET", "POST"],
        allow_headers=["Authorization", "Content-Type", "Last-Event-ID"],
        expose_headers=["Location", "WWW-Authenticate", "X-Request-ID"],
        allow_credentials=False,  # keys travel in a header, never in cookies
        max_age=600,
    )
