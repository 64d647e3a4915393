"""Telling a registry that is down apart from a registry that said no.

A refusal (404 unknown id, 409 incompatible, 422 invalid schema) is an answer about the schema
and keeps its own error. No answer at all — a timeout, a refused connection, an HTTP 5xx, or a
408/429 that outlasted the client's retries — becomes `RegistryUnavailable`, which names the
registry URL and what failed, so callers retry it instead of blaming the record.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from types import ModuleType

import httpx
from confluent_kafka.schema_registry import SchemaRegistryClient, SchemaRegistryError

from hivebus.contracts.errors import RegistryAccessDenied, RegistryUnavailable
from hivebus.contracts.registry_config import registry_connection
from hivebus.kafka.secrets import mask_url

TRANSIENT = (408, 429)  # a timeout or throttling answer: the registry is there but not serving
DENIED = (401, 403)  # the credentials, or their rights: no retry of the same call will help


def _flavours() -> tuple[ModuleType, ...]:
    """confluent's client uses `httpx2` when it is installed, else `httpx`: catch both."""
    found = [httpx]
    with suppress(ImportError):
        found.append(importlib.import_module("httpx2"))
    return tuple(found)


_FLAVOURS = _flavours()
_TRANSPORT: tuple[type[Exception], ...] = tuple(m.TransportError for m in _FLAVOURS)
_TIMEOUT: tuple[type[Exception], ...] = tuple(m.TimeoutException for m in _FLAVOURS)
_CONNECT: tuple[type[Exception], ...] = tuple(m.ConnectError for m in _FLAVOURS)


def registry_url_of(client: SchemaRegistryClient) -> str:
    """The URL(s) `client` talks to, for messages; fakes without one read 'unknown'."""
    urls = getattr(getattr(client, "_rest_client", None), "base_urls", None)
    return mask_url(",".join(urls)) if isinstance(urls, list) and urls else "(unknown url)"


def is_outage(exc: SchemaRegistryError) -> bool:
    """True when an HTTP error says the registry is not serving, not that it refused."""
    status = exc.http_status_code
    return isinstance(status, int) and (status >= 500 or status in TRANSIENT)


@contextmanager
def registry_call(client: SchemaRegistryClient, action: str) -> Iterator[None]:
    """Run registry calls, turning transport failures and 5xx into `RegistryUnavailable`."""
    try:
        yield
    except _TRANSPORT as exc:  # timeouts, refused or reset connections, DNS, TLS
        raise RegistryUnavailable(registry_url_of(client), action, _describe(client, exc)) from exc
    except SchemaRegistryError as exc:
        failure = f"HTTP {exc.http_status_code}: {exc.error_message}"
        if exc.http_status_code in DENIED:
            hint = registry_connection().credentials_hint()
            raise RegistryAccessDenied(registry_url_of(client), action, failure, hint) from exc
        if not is_outage(exc):
            raise
        raise RegistryUnavailable(registry_url_of(client), action, failure) from exc


def _describe(client: SchemaRegistryClient, exc: Exception) -> str:
    if isinstance(exc, _TIMEOUT):
        limit = getattr(getattr(client, "_rest_client", None), "timeout", None)
        within = f" after {limit:g} s" if isinstance(limit, int | float) else ""
        return f"timed out{within} ({type(exc).__name__})"
    text = str(exc) or type(exc).__name__
    if isinstance(exc, _CONNECT) and "refused" in text.lower():
        return f"connection refused ({text})"
    if "CERTIFICATE_VERIFY_FAILED" in text:
        ca = registry_connection().where("ssl.ca.location")
        return f"{type(exc).__name__}: {text}; check {ca}"
    return f"{type(exc).__name__}: {text}"
