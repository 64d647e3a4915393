"""Content the audit keeps by reference: a prompt, a reply, a large result or payload.

A blob is named by the SHA-256 of what is stored (`sha256:<hex>`), so the same prompt sent
a thousand times is one key, and an event names its content without carrying it. Blobs go
to `<audit topic>.blobs` through the outbox with the events that name them, in the same
transaction in exactly-once mode: a reference never points at nothing.
"""

from __future__ import annotations

import hashlib

from hivebus.audit.records import AuditBlob

PREFIX = "sha256:"
JSON, TEXT = "application/json", "text/plain"


def blob(data: str, media_type: str, limit: int) -> AuditBlob:
    """The blob of `data`, cut to `limit` bytes of UTF-8."""
    raw = data.encode()
    kept = raw[:limit].decode(errors="ignore") if len(raw) > limit else data
    digest = hashlib.sha256(raw).hexdigest()
    return AuditBlob(
        sha256=digest, media_type=media_type, size=len(raw), data=kept, truncated=kept != data
    )


def ref(found: AuditBlob) -> str:
    return PREFIX + found.sha256


def is_ref(text: str | None) -> bool:
    return text is not None and text.startswith(PREFIX)


def digest_of(reference: str) -> str:
    return reference.removeprefix(PREFIX)
