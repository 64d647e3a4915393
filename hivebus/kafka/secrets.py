"""Which settings are secrets, and how they look when shown: never their value."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
# Passwords, keys and tokens of librdkafka (`sasl.password`, `ssl.key.password`,
# `ssl.key.pem`, `sasl.oauthbearer.client.secret`, `sasl.jaas.config`) and of the registry
# client (`basic.auth.user.info`, `bearer.auth.token`, `bearer.auth.client.secret`).
_SECRET_WORDS = ("password", "secret", "token", "user.info", "key.pem", "jaas", "bearer.config")


def is_secret(key: str) -> bool:
    """True for a setting whose value must never be logged or printed."""
    return any(word in key.lower() for word in _SECRET_WORDS)


def shown(key: str, value: str) -> str:
    """The value as it may be printed: masked for a secret, URLs without their password."""
    return MASK if is_secret(key) else mask_url(value)


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every occurrence of each secret value masked (for error messages).

    Values shorter than four characters are left alone: masking every `t` of a message
    would hide the message, and no real secret is that short.
    """
    for secret in sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def mask_url(text: str) -> str:
    """URLs (comma-separated, as the registry takes them) with the password of their
    `user:password@` part masked; any other text unchanged."""
    if "://" not in text or "@" not in text:
        return text
    return ",".join(_mask_one(url) for url in text.split(","))


def _mask_one(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:{MASK}@{host}"))
