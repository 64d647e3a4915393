"""API keys and per-agent permissions for the gateway (see docs/gateway.md, "Security").

For a route that acts on an agent's work: `require(request, agent)` raises the 403 (or
401) that the gateway's error handlers answer; `principal_of(request)` says who asks.
"""

from hivebus.gateway.auth.middleware import PUBLIC_PATHS, AuthMiddleware
from hivebus.gateway.auth.permissions import PermissionDenied, Unauthenticated, allowed, require
from hivebus.gateway.auth.principal import ANONYMOUS, Principal, principal_of
from hivebus.gateway.auth.store import KeyStore

__all__ = [
    "ANONYMOUS",
    "PUBLIC_PATHS",
    "AuthMiddleware",
    "KeyStore",
    "PermissionDenied",
    "Principal",
    "Unauthenticated",
    "allowed",
    "principal_of",
    "require",
]
